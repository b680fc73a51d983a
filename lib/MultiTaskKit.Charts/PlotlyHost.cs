using System.Reflection;
using System.Runtime.Loader;

namespace MultiTaskKit.Charts;

/// <summary>
/// Runs Plotly.NET in its own <see cref="AssemblyLoadContext"/>.
/// <para>
/// Plotly.NET 6 needs FSharp.Core 10.1, but the .NET Interactive kernel (dotnet-interactive 1.0.712001, dotnet-repl
/// 0.3.259) has already loaded FSharp.Core 10.0 into the default context for its F# kernel, and a context cannot hold
/// two versions of one assembly, so a plain <c>#r</c> of Plotly.NET fails there with "Could not load file or assembly
/// 'FSharp.Core, Version=10.1.0.0'". MultiTaskKit.Charts.dll therefore carries the chart builder and its dependencies
/// (Plotly.NET, Plotly.NET.CSharp, FSharp.Core 10.1, DynamicObj, Giraffe.ViewEngine, Newtonsoft.Json) as embedded
/// resources and loads them into a private context, in every host alike (kernel, scripts, mtk, tests), so there is one
/// code path. Only strings cross: a <see cref="ChartSpec"/> as JSON in, a Plotly figure as JSON out.
/// </para>
/// </summary>
public static class PlotlyHost
{
    const string Prefix = "MultiTaskKit.Charts.Isolated.";
    static readonly Lazy<Bridge> Instance = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    sealed record Bridge(AssemblyLoadContext Context, Func<string, string> Build, Func<string> PlotlyJs, string PlotlyJsVersion);

    /// <summary>Builds a Plotly figure (JSON with <c>data</c> and <c>layout</c>) for <paramref name="spec"/>.</summary>
    public static string BuildFigure(ChartSpec spec) =>
        Instance.Value.Build(System.Text.Json.JsonSerializer.Serialize(spec.WithEscapedText().WithFiniteLines(), ChartSpecJson.Default.ChartSpec));

    /// <summary>The plotly.js source embedded in Plotly.NET (about 3.6 MB), for offline pages.</summary>
    public static string PlotlyJs => plotlyJs ??= Instance.Value.PlotlyJs();
    static string? plotlyJs;

    /// <summary>The plotly.js version that <see cref="PlotlyJs"/> holds.</summary>
    public static string PlotlyJsVersion => Instance.Value.PlotlyJsVersion;

    /// <summary>The load context the builder lives in (tests check that Plotly.NET stays out of the default one).</summary>
    public static AssemblyLoadContext Context => Instance.Value.Context;

    static Bridge Create()
    {
        var kit = typeof(PlotlyHost).Assembly;
        var images = kit.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".dll", StringComparison.Ordinal))
            .ToDictionary(n => n[Prefix.Length..^4], n => n, StringComparer.OrdinalIgnoreCase);
        if (!images.ContainsKey("MultiTaskKit.Charts.Plotly"))
            throw new InvalidOperationException(
                $"charts: MultiTaskKit.Charts.dll lacks its embedded chart builder (resources {Prefix}*.dll); found [{string.Join(", ", images.Keys)}]. " +
                "Rebuild lib/MultiTaskKit.Charts, which builds lib/MultiTaskKit.Charts.Plotly and embeds its output.");
        var context = new IsolatedContext(kit, images);
        var entry = context.LoadFromAssemblyName(new AssemblyName("MultiTaskKit.Charts.Plotly"))
            .GetType("MultiTaskKit.Charts.Plotly.PlotlyEntry", throwOnError: true)!;
        return new Bridge(context,
            entry.GetMethod("Build")!.CreateDelegate<Func<string, string>>(),
            entry.GetMethod("PlotlyJs")!.CreateDelegate<Func<string>>(),
            (string)entry.GetMethod("PlotlyJsVersion")!.Invoke(null, null)!);
    }

    sealed class IsolatedContext(Assembly kit, Dictionary<string, string> images) : AssemblyLoadContext("MultiTaskKit.Charts (Plotly.NET + FSharp.Core 10.1)")
    {
        // Assemblies we carry load here; everything else (System.*) comes from the default context.
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is null || !images.TryGetValue(name.Name, out var resource)) return null;
            using var stream = kit.GetManifestResourceStream(resource)!;
            return LoadFromStream(stream);
        }
    }
}
