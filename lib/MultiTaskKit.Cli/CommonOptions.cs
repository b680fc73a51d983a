using System.CommandLine;
using MultiTaskKit.Runtime;

namespace MultiTaskKit.Cli;

/// <summary>Options every command takes; they are recursive, so they go anywhere on the line.</summary>
static class CommonOptions
{
    public static readonly Option<int?> Threads = new("--threads")
    {
        Description = "Intra-op threads for libtorch (default: MTK_THREADS, else the number of cores).",
        Recursive = true,
    };

    public static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "Folder with local copies of the datasets (default: MTK_DATA_DIR, else a shared/data folder nearby).",
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Threads);
        root.Options.Add(DataDir);
    }

    public static void Apply(ParseResult parse) => TorchRuntime.EnsureInitialized(parse.GetValue(Threads));
}
