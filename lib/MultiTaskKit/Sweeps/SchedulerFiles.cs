using System.Text;
using MultiTaskKit.IO;

namespace MultiTaskKit.Sweeps;

/// <summary>What the scheduler files say beyond the plan: the image, the folder every node sees, resources.</summary>
/// <param name="SharedPath">The sweep folder as the nodes see it (null: its path here).</param>
/// <param name="Image">The container image with mtk on its path (Kubernetes).</param>
/// <param name="CpusPerTask">Cores per cell (Slurm <c>--cpus-per-task</c>, Kubernetes CPU request; also mtk's <c>--threads</c>).</param>
/// <param name="MemoryGiB">Memory per cell.</param>
/// <param name="Parallelism">Cells at once (Slurm's <c>%</c> throttle, Kubernetes <c>parallelism</c>; null: no limit / all).</param>
/// <param name="ClaimName">The PersistentVolumeClaim that holds the shared folder (Kubernetes).</param>
/// <param name="DataDir">The datasets' folder as the nodes see it (passed as <c>--data-dir</c>; null: the nodes' default).</param>
public sealed record SchedulerOptions(string? SharedPath = null, string Image = "mtk:latest", int CpusPerTask = 2, int MemoryGiB = 8,
    int? Parallelism = null, string ClaimName = "mtk-sweep", string? DataDir = null);

/// <summary>
/// The two files <c>mtk sweep plan</c> writes so that an existing scheduler runs the cells, one cell per array task, all
/// on one shared folder; <c>mtk sweep report</c> runs on that folder afterwards.
/// <list type="bullet">
/// <item><c>slurm.sh</c>: a Slurm job array (<c>sbatch slurm.sh</c>; <c>#SBATCH --array=0-(n−1)</c>), each task running
/// <c>mtk sweep run --dir … --cell $SLURM_ARRAY_TASK_ID</c>;</item>
/// <item><c>job.yaml</c>: a Kubernetes Indexed Job (<c>kubectl apply -f job.yaml</c>; <c>completionMode: Indexed</c>,
/// <c>completions: n</c>), each pod running <c>mtk sweep run --dir …</c>, which reads its index from
/// <c>JOB_COMPLETION_INDEX</c> (set by Kubernetes for Indexed Jobs).</item>
/// </list>
/// Both call <c>${MTK:-mtk}</c> (Slurm) or <c>mtk</c> (the image's path). A finished cell is skipped and an interrupted
/// one resumes, so a requeued or retried task is safe.
/// </summary>
public static class SchedulerFiles
{
    public const string SlurmFile = "slurm.sh";
    public const string KubernetesFile = "job.yaml";
    public const string LogFolder = "logs";

    public static void Write(string sweepDir, SweepPlan plan, SchedulerOptions options)
    {
        AtomicFile.WriteAllText(Path.Combine(sweepDir, SlurmFile), Slurm(sweepDir, plan, options));
        AtomicFile.WriteAllText(Path.Combine(sweepDir, KubernetesFile), Kubernetes(sweepDir, plan, options));
    }

    static string Shared(string sweepDir, SchedulerOptions o) => o.SharedPath ?? Path.GetFullPath(sweepDir);

    /// <summary>Single-quotes a word for the POSIX shell.</summary>
    static string Sh(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Double-quotes a YAML scalar.</summary>
    static string Y(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    public static string Slurm(string sweepDir, SweepPlan plan, SchedulerOptions o)
    {
        var dir = Shared(sweepDir, o);
        var throttle = o.Parallelism is { } p ? $"%{p}" : "";
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"# {plan.Cells.Count} cells of the sweep in {dir}; submit with: sbatch {SlurmFile}\n");
        s.Append("# Each array task runs one cell; a finished cell is skipped and an interrupted one resumes, so requeueing is safe.\n");
        s.Append("#SBATCH --job-name=mtk-sweep\n");
        s.Append($"#SBATCH --array=0-{plan.Cells.Count - 1}{throttle}\n");
        s.Append($"#SBATCH --cpus-per-task={o.CpusPerTask}\n");
        s.Append($"#SBATCH --mem={o.MemoryGiB}G\n");
        s.Append($"#SBATCH --output={dir}/{LogFolder}/slurm-%A_%a.out\n");
        s.Append("#SBATCH --requeue\n");
        s.Append("set -euo pipefail\n");
        s.Append($"mkdir -p {Sh(dir + "/" + LogFolder)}\n");
        s.Append($"exec ${{MTK:-mtk}} sweep run --dir {Sh(dir)} --cell \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{o.CpusPerTask}}}\"");
        if (o.DataDir is { } data) s.Append($" --data-dir {Sh(data)}");
        s.Append('\n');
        return s.ToString();
    }

    public static string Kubernetes(string sweepDir, SweepPlan plan, SchedulerOptions o)
    {
        var dir = Shared(sweepDir, o);
        var args = new List<string> { "sweep", "run", "--dir", dir, "--threads", o.CpusPerTask.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (o.DataDir is { } data) { args.Add("--data-dir"); args.Add(data); }
        var s = new StringBuilder();
        s.Append($"# {plan.Cells.Count} cells of the sweep in {dir}; run with: kubectl apply -f {KubernetesFile}\n");
        s.Append("# An Indexed Job: pod k gets JOB_COMPLETION_INDEX=k, and mtk sweep run reads its cell from it.\n");
        s.Append("apiVersion: batch/v1\n");
        s.Append("kind: Job\n");
        s.Append("metadata:\n");
        s.Append("  name: mtk-sweep\n");
        s.Append("spec:\n");
        s.Append("  completionMode: Indexed\n");
        s.Append($"  completions: {plan.Cells.Count}\n");
        s.Append($"  parallelism: {o.Parallelism ?? plan.Cells.Count}\n");
        s.Append($"  backoffLimitPerIndex: 2\n");
        s.Append($"  maxFailedIndexes: {plan.Cells.Count}\n");
        s.Append("  template:\n");
        s.Append("    spec:\n");
        s.Append("      restartPolicy: Never\n");
        s.Append("      containers:\n");
        s.Append("        - name: cell\n");
        s.Append($"          image: {Y(o.Image)}\n");
        s.Append("          command: [\"mtk\"]\n");
        s.Append($"          args: [{string.Join(", ", args.Select(Y))}]\n");
        s.Append("          resources:\n");
        s.Append($"            requests: {{ cpu: {Y(o.CpusPerTask.ToString(System.Globalization.CultureInfo.InvariantCulture))}, memory: {Y($"{o.MemoryGiB}Gi")} }}\n");
        s.Append($"            limits: {{ memory: {Y($"{o.MemoryGiB}Gi")} }}\n");
        s.Append("          volumeMounts:\n");
        s.Append($"            - name: sweep\n              mountPath: {Y(dir)}\n");
        s.Append("      volumes:\n");
        s.Append($"        - name: sweep\n          persistentVolumeClaim:\n            claimName: {Y(o.ClaimName)}\n");
        return s.ToString();
    }
}
