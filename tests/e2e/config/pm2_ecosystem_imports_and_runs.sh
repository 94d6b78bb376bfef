#!/usr/bin/env bash
# A PM2 ecosystem.config.js shaped like seed 003 (production + development apps, env profiles,
# 1G memory restart, watch with ignore list, log files with a date format) converts with
# `tend import` and runs with `tend up ecosystem.config.js --env production`.
# timeout: 90
. "$(dirname "$0")/../lib.sh"
command -v node >/dev/null || fail "node is required (scripts/deps.sh installs it)"
mkdir -p logs
cat > server.js <<'EOF'
const http = require('http');
const port = process.env.PORT;
http.createServer((q, r) => r.end(JSON.stringify({env: process.env.NODE_ENV, port}))).listen(port, '127.0.0.1');
console.log(`listening on ${port} as ${process.env.NODE_ENV}`);
EOF
cat > ecosystem.config.js <<'EOF'
const path = require('path');
module.exports = {
  apps: [
    {
      name: 'yunqi-platform',
      script: 'server.js',
      cwd: __dirname,
      instances: 1,
      exec_mode: 'fork',
      autorestart: true,
      watch: false,
      max_memory_restart: '1G',
      env: { NODE_ENV: 'development', PORT: 31300 },
      env_production: { NODE_ENV: 'production', PORT: process.env.APP_PORT || 31300 },
      log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
      error_file: path.join(__dirname, 'logs', 'error.log'),
      out_file: path.join(__dirname, 'logs', 'out.log'),
      log_file: path.join(__dirname, 'logs', 'combined.log'),
      merge_logs: true,
      time: true,
    },
    {
      name: 'yunqi-platform-dev',
      script: 'server.js',
      watch: true,
      ignore_watch: ['node_modules', '.next', 'logs', '.git', 'public/uploads'],
      env: { NODE_ENV: 'development', PORT: 31301 },
    },
  ],
};
EOF
tend import ecosystem.config.js > tend.yaml 2> warn.txt || fail "import failed: $(cat warn.txt)"
grep -q 'yunqi-platform' tend.yaml && grep -q 'max_memory' tend.yaml && grep -q 'watch_ignore' tend.yaml \
  || fail "import output: $(cat tend.yaml)"
grep -q '"time"' warn.txt || fail "the ignored PM2 attribute \"time\" is not named: $(cat warn.txt)"
tend config check tend.yaml >/dev/null || fail "the imported tend.yaml does not validate"
tend up ecosystem.config.js --env production --only yunqi-platform >/dev/null 2>up.txt || fail "up failed: $(cat up.txt)"
wait_for 20 curl -fsS http://127.0.0.1:31300/ || fail "the app does not answer"
curl -fsS http://127.0.0.1:31300/ | grep -q '"env":"production"' || fail "env_production not applied"
wait_for 10 grep -q "listening on 31300 as production" logs/out.log || fail "out_file not written"
head -n 1 logs/out.log | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{2}:?[0-9]{2}' \
  || fail "log_date_format not applied: $(head -n 1 logs/out.log)"
tend env yunqi-platform | grep -q 'NODE_ENV.*production' || fail "tend env"
