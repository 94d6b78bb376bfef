module.exports = {
  apps: [
    { name: 'x', script: 'x.js', }
  ]]
};
