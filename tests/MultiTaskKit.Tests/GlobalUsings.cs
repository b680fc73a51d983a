global using Xunit;

// Test classes run in parallel, except those in ProcessStateCollection (torch's global generator, threads, environment,
// current directory), which run alone after the others.
