using Microsoft.DotNet.Interactive;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Interactive;

/// <summary>
/// Loaded by the .NET Interactive kernel when a notebook references the MultiTaskKit.Interactive package. It makes
/// TorchSharp usable in the kernel (the libstdc++ fix, before any TorchSharp call) and registers the kit's HTML
/// formatters (charts, tables, dataset cards, metric reports).
/// </summary>
public sealed class KitExtension : IKernelExtension
{
    public Task OnLoadAsync(Kernel kernel)
    {
        KitFormatters.Register();
        try
        {
            // TorchSharp comes from the NuGet cache in the kernel; the fix loads libtorch by full path, then the shim,
            // then the patched libLibTorchSharp copy, before the first TorchSharp call. Silent when it works.
            // This is an edge of the kit: the one place in a notebook where MTK_* variables are read.
            TorchRuntime.Configure(KitOptions.FromEnvironment());
        }
        catch (Exception e)
        {
            KernelInvocationContext.Current?.DisplayAs(
                $"<div style=\"color:#b00\"><b>MultiTask Kit:</b> TorchSharp could not be initialised: {System.Net.WebUtility.HtmlEncode(e.Message)}</div>",
                "text/html");
        }
        return Task.CompletedTask;
    }
}
