// Never finishes: tend must kill node after its timeout.
console.log('this goes to stderr, not into the JSON');
setInterval(() => {}, 1000);
for (;;) {}
