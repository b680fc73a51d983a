using System.CommandLine;
using MultiTaskKit.Runtime;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

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

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "On an error, print the stack trace too (also MTK_DEBUG=1).",
        Recursive = true,
    };

    /// <summary>Refuses an empty value of a path option (<c>--out ""</c>) as a usage error that names the option.</summary>
    public static Option<string?> NonEmptyPath(this Option<string?> option)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.Tokens[^1].Value))
                result.AddError($"{option.Name}: expected a folder path, found an empty string.");
        });
        return option;
    }

    public static void AddTo(RootCommand root)
    {
        root.Options.Add(Verbose);
        root.Options.Add(Threads);
        root.Options.Add(DataDir);
    }

    /// <summary>The runtime options of this invocation, applied to the process: the environment's <c>MTK_*</c> variables
    /// (this is the edge that reads them), with <c>--threads</c> over <c>MTK_THREADS</c>.</summary>
    public static KitOptions Apply(ParseResult parse)
    {
        var options = KitOptions.FromEnvironment();
        if (parse.GetValue(Threads) is { } threads) options = options with { Threads = CheckThreads(threads) };
        TorchRuntime.Configure(options);
        return options;
    }

    static int CheckThreads(int threads) => threads >= 1 && threads <= KitOptions.MaxThreads
        ? threads
        : throw new UsageException($"--threads: expected 1 to {KitOptions.MaxThreads} (4 per core, {Environment.ProcessorCount} cores here), found {threads}.");

    /// <summary>A run's runtime options: those its configuration file states (so that a run folder's config.json
    /// reproduces the run), else this invocation's; <c>--threads</c> wins either way.</summary>
    public static RunConfig WithRuntime(RunConfig config, string? configFile, KitOptions invocation, ParseResult parse)
    {
        bool stated = configFile is not null
                      && System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configFile), documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true }) is System.Text.Json.Nodes.JsonObject o
                      && o.ContainsKey("runtime");
        var runtime = stated ? config.Runtime : invocation;
        if (parse.GetValue(Threads) is { } threads) runtime = runtime with { Threads = CheckThreads(threads) };
        return config with { Runtime = runtime };
    }
}
