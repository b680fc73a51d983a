using System.Runtime.CompilerServices;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Tests;

/// <summary>Many tests call TorchSharp (<c>manual_seed</c>, <c>randn</c>) before any kit type; the kit's own module
/// initializer would then run too late for the libstdc++ fix, so this assembly initialises first.</summary>
static class TestAssemblyInitializer
{
#pragma warning disable CA2255 // a test assembly is the place for it
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize() => TorchRuntime.EnsureInitialized();
}
