// console.log in an ecosystem file must not corrupt the result.
console.log('loading config');
module.exports = [{ name: 'solo', script: 'server.js', args: ['--port', 4000] }];
