using System.Runtime.CompilerServices;

namespace MultiTaskKit.Runtime;

/// <summary>
/// Runs <see cref="TorchRuntime.EnsureInitialized"/> when the kit's assembly is first touched, before any kit type is
/// used: the libstdc++ fix must load the patched <c>libLibTorchSharp</c> before TorchSharp loads its own copy, so it
/// cannot wait for a call that a caller may forget or make too late (a program whose first statement builds a method
/// otherwise dies with <c>DllNotFoundException</c>, GLIBCXX_3.4.32).
/// </summary>
static class KitModuleInitializer
{
    // CA2255 warns libraries off module initializers; this one is the library's reason to exist on older Linux systems.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Initialize()
    {
        // An exception here would surface as an opaque TypeInitializationException on every later use of the assembly.
        // Keep it instead: TorchRuntime.DefaultDevice and explicit EnsureInitialized calls retry and throw it with its message.
        try { TorchRuntime.EnsureInitialized(); }
        catch (Exception e) { TorchRuntime.InitializationError = e; }
    }
}
