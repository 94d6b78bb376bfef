// A Next.js platform's PM2 file (the shape of seeds/003): production and development apps.
const path = require('path');

module.exports = {
  apps: [
    {
      name: 'yunqi-platform',
      script: 'npm',
      args: 'start',
      cwd: path.resolve(__dirname),
      instances: 1,
      autorestart: true,
      watch: false,
      max_memory_restart: '1G',
      env: {
        NODE_ENV: 'production',
        PORT: process.env.TEND_TEST_PORT || 3000,
      },
      env_production: {
        NODE_ENV: 'production',
        PORT: 3000,
      },
      env_development: {
        NODE_ENV: 'development',
        PORT: 3001,
      },
      log_file: './logs/combined.log',
      out_file: './logs/out.log',
      error_file: './logs/error.log',
      log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
      merge_logs: true,
      time: true,
    },
    {
      name: 'yunqi-platform-dev',
      script: 'npm',
      args: 'run dev',
      watch: true,
      ignore_watch: ['node_modules', '.next', 'logs', '.git', 'public/uploads'],
      env: {
        NODE_ENV: 'development',
        PORT: 3001,
      },
    },
  ],
};
