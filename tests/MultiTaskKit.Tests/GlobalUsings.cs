global using Xunit;

// Tests run one at a time: many seed torch's process-wide generator (module initialisation, dropout) and check exact
// numbers, and any test running beside them draws from the same generator.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
