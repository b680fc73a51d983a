using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiTaskKit.IO;
using MultiTaskKit.Optim;
using MultiTaskKit.Models;
using MultiTaskKit.Data;
using MultiTaskKit.Aggregation;

namespace MultiTaskKit.Runs;

/// <summary>
/// A run folder that one process owns while it writes: the guard around everything the trainer writes.
/// <list type="bullet">
/// <item>Only a kit run folder is written into: a new or empty folder becomes one (the <see cref="MarkerFile"/> says
/// so); a non-empty folder without the marker is refused, so a run never replaces or deletes a user's files.</item>
/// <item>One writer at a time: an exclusive OS lock on <see cref="LockFile"/> (released by the kernel when the holder
/// dies, so a killed run's lock is taken over, and said so), with the holder's process id in <see cref="HolderFile"/>
/// for the refusal message.</item>
/// <item>Leftovers of an interrupted atomic folder write (<c>.tmp-</c>, <c>.old-</c> siblings) are cleaned up under
/// the lock, where no write can be in flight; a folder caught between its two renames gets its previous version back.</item>
/// </list>
/// </summary>
public sealed class RunFolder : IDisposable
{
    public const string MarkerFile = ".mtk-run";
    public const string LockFile = ".mtk-lock";
    public const string HolderFile = ".mtk-lock.holder";
    public const string FingerprintsFile = "data.json";

    readonly FileStream lockStream;

    RunFolder(string path, FileStream lockStream, string? note)
    {
        Path = path;
        this.lockStream = lockStream;
        TakeOverNote = note;
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>Set when a lock left by a process that no longer runs was taken over.</summary>
    public string? TakeOverNote { get; }

    /// <summary>Checks a run name (it becomes a folder under <c>runs/</c>): letters, digits, '_', '-' and '.', not starting with '.'.</summary>
    public static void ValidateName(string name, string source = "config")
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || name.StartsWith('.')
            || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')))
            throw new InvalidDataException($"{source}: 'name' must be 1-100 letters, digits, '_', '-' or '.' and not start with '.' (it names the folder under runs/), found '{name}'.");
    }

    /// <summary>
    /// Takes the folder for writing: creates it (or checks that it is empty or a kit run folder), takes the exclusive
    /// lock, writes the marker, and cleans up leftovers of interrupted writes.
    /// </summary>
    /// <param name="dir">The run folder.</param>
    /// <param name="what">The operation, for messages (e.g. "train").</param>
    public static RunFolder Acquire(string dir, string what = "train")
    {
        var full = System.IO.Path.GetFullPath(dir);
        if (File.Exists(full)) throw new IOException($"run folder '{full}': expected a folder, found a file.");
        if (Directory.Exists(full) && !File.Exists(System.IO.Path.Combine(full, MarkerFile)) && !HoldsOnlyBookkeeping(full))
            throw new IOException($"run folder '{full}' is not empty and is not a run folder of the kit (no {MarkerFile} marker); the kit writes only into new, empty or its own run folders: choose another --out (or 'name').");
        Directory.CreateDirectory(full);
        RefuseLinks(full);
        var lockPath = System.IO.Path.Combine(full, LockFile);
        var holderPath = System.IO.Path.Combine(full, HolderFile);
        FileStream stream;
        try
        {
            // FileShare.None is an exclusive flock on Unix and a share-mode lock on Windows; both end with the process.
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new IOException($"run folder '{full}' cannot be written (read-only, or not this user's: {e.Message}); choose another --out.", e);
        }
        catch (IOException e) when (ReadOnly(e))
        {
            throw new IOException($"run folder '{full}' cannot be written (the file system is read-only: {e.Message}); choose another --out.", e);
        }
        catch (IOException)
        {
            var holder = ReadHolder(holderPath);
            throw new IOException($"run folder '{full}' is in use by {(holder is null ? "another process" : Describe(holder))}; one process writes a run folder at a time: wait for it, or choose another --out.");
        }
        try
        {
            string? note = null;
            if (ReadHolder(holderPath) is { } previous && previous.Pid != Environment.ProcessId)
                note = $"took over the lock of {Describe(previous)}, which no longer holds it (killed or crashed)";
            var me = new JsonObject
            {
                ["pid"] = Environment.ProcessId,
                ["command"] = what,
                ["started"] = DateTime.UtcNow.ToString("O"),
                ["host"] = Environment.MachineName,
            };
            // Replaced by a rename, never written in place: a holder planted as a link is replaced, not followed.
            AtomicFile.WriteAllText(holderPath, me.ToJsonString());
            var marker = System.IO.Path.Combine(full, MarkerFile);
            if (!File.Exists(marker)) AtomicFile.WriteAllText(marker, "MultiTask Kit run folder: the kit may replace files in this folder.\n");
            CleanLeftovers(full);
            return new RunFolder(full, stream, note);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses a run folder that holds a symbolic link: the kit writes its bookkeeping (lock, holder, marker, charts,
    /// checkpoints) only into files and folders of its own, never through a link to somewhere else.
    /// </summary>
    public static void RefuseLinks(string dir)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
            if (new FileInfo(entry).LinkTarget is { } target)
                throw new IOException($"run folder '{dir}': '{System.IO.Path.GetFileName(entry)}' is a symbolic link (to '{target}'); the kit never writes through a link: remove it, or choose another --out.");
    }

    /// <summary>EROFS (30) or EACCES (13) behind an IOException.</summary>
    static bool ReadOnly(IOException e) => (e.HResult & 0xFFFF) is 30 or 13;

    /// <summary>
    /// True for an empty folder, or one holding only what <see cref="Acquire"/> writes before the marker (the lock, the
    /// holder, a half-written marker): a process killed in between left a folder that is still the kit's to take.
    /// </summary>
    static bool HoldsOnlyBookkeeping(string dir) =>
        Directory.EnumerateFileSystemEntries(dir).Select(System.IO.Path.GetFileName)
            .All(n => n is LockFile or HolderFile || n!.StartsWith(MarkerFile + ".tmp-", StringComparison.Ordinal));

    sealed record Holder(int Pid, string? Command, string? Started, string? Host);

    static Holder? ReadHolder(string path)
    {
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject;
            return o?["pid"] is JsonValue p && p.TryGetValue<int>(out var pid)
                ? new Holder(pid, o["command"]?.GetValue<string>(), o["started"]?.GetValue<string>(), o["host"]?.GetValue<string>())
                : null;
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or UnauthorizedAccessException) { return null; }
    }

    static string Describe(Holder h) =>
        $"process {h.Pid}{(h.Command is null ? "" : $" (mtk {h.Command}")}{(h.Started is null ? "" : $", started {h.Started}")}{(h.Host is null ? "" : $" on {h.Host}")}{(h.Command is null ? "" : ")")}";

    /// <summary>
    /// Removes what interrupted atomic writes left behind. Under the lock no write is in flight, so every
    /// <c>X.tmp-*</c> and <c>X.old-*</c> is finished with. When <c>X</c> itself is missing, the process died between
    /// moving <c>X</c> aside and moving the new one in: the previous version (<c>X.old-*</c>) is put back, because the
    /// rest of the run folder (state, history) still describes it.
    /// </summary>
    public static IReadOnlyList<string> CleanLeftovers(string dir)
    {
        var actions = new List<string>();
        foreach (var old in Directory.EnumerateDirectories(dir, "*.old-*").ToList())
        {
            var name = System.IO.Path.GetFileName(old);
            var target = System.IO.Path.Combine(dir, name[..name.IndexOf(".old-", StringComparison.Ordinal)]);
            if (!Directory.Exists(target)) { Directory.Move(old, target); actions.Add($"restored {System.IO.Path.GetFileName(target)}/ from {name}"); }
            else { Directory.Delete(old, recursive: true); actions.Add($"removed {name}"); }
        }
        foreach (var tmp in Directory.EnumerateDirectories(dir, "*.tmp-*").ToList())
        {
            Directory.Delete(tmp, recursive: true);
            actions.Add($"removed {System.IO.Path.GetFileName(tmp)}");
        }
        foreach (var tmp in Directory.EnumerateFiles(dir, "*.tmp-*").ToList())
        {
            File.Delete(tmp);
            actions.Add($"removed {System.IO.Path.GetFileName(tmp)}");
        }
        return actions;
    }

    /// <summary>
    /// Checks that <c>best/</c> agrees with the checkpoint's state. <c>best/</c> is written just before
    /// <c>checkpoint/</c> at an evaluation; a crash between the two leaves a <c>best/</c> from a step after the
    /// checkpoint. That one is kept and said so: the resumed run replays the same steps, reaches the same better score
    /// at that step and writes it again, before anything reads it (the test evaluation comes after the last step).
    /// Any other disagreement is refused.
    /// </summary>
    /// <returns>A note when <c>best/</c> is ahead of the checkpoint, else null.</returns>
    public static string? CheckBestAgainstState(string dir, TrainerState state)
    {
        var best = System.IO.Path.Combine(dir, Checkpoint.BestFolder);
        var bestState = System.IO.Path.Combine(best, Checkpoint.StateFile);
        if (!Directory.Exists(best))
        {
            if (state.BestStep is { } b)
                throw new InvalidDataException($"--resume: {System.IO.Path.Combine(dir, Checkpoint.LatestFolder, Checkpoint.StateFile)} says the best weights are from step {b}, but '{best}' is missing; the run folder is damaged.");
            return null;
        }
        long bestStep;
        try
        {
            bestStep = JsonNode.Parse(File.ReadAllText(bestState))?["step"]?.GetValue<long>()
                       ?? throw new InvalidDataException($"{bestState}: expected a 'step' key, found none.");
        }
        catch (Exception e) when (e is JsonException or FileNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{bestState}: expected the best checkpoint's state (JSON with 'step'), found {(e is FileNotFoundException ? "no file" : "unreadable content")} ({e.Message}).", e);
        }
        if (bestStep == state.BestStep) return null;
        if (bestStep > state.Step)
            return $"best/ is from step {bestStep}, after the checkpoint's step {state.Step} (the run stopped between the two writes); the resumed run replays to step {bestStep} and writes it again";
        throw new InvalidDataException($"--resume: '{bestState}' holds step {bestStep}, but {System.IO.Path.Combine(dir, Checkpoint.LatestFolder, Checkpoint.StateFile)} says the best step is {state.BestStep?.ToString() ?? "none"}; best/ and checkpoint/ disagree.");
    }

    /// <summary>Whether <paramref name="dir"/> holds a checkpoint, counting one that a kill left moved aside (put back on <see cref="Acquire"/>).</summary>
    public static bool HasCheckpoint(string dir) =>
        Checkpoint.HasLatest(dir)
        || (Directory.Exists(dir) && Directory.EnumerateDirectories(dir, Checkpoint.LatestFolder + ".old-*").Any(d => File.Exists(System.IO.Path.Combine(d, Checkpoint.StateFile))));

    /// <summary>A data file's identity: full path, size and SHA-256.</summary>
    public sealed record Fingerprint(string Path, long Size, string Sha256);

    /// <summary>Size and SHA-256 of each file (folders: every file under them, sorted).</summary>
    public static IReadOnlyList<Fingerprint> Fingerprints(IEnumerable<string> paths)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in paths.Select(System.IO.Path.GetFullPath))
        {
            if (Directory.Exists(p)) foreach (var f in Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories)) files.Add(f);
            else if (File.Exists(p)) files.Add(p);
        }
        return files.Select(f =>
        {
            using var s = File.OpenRead(f);
            return new Fingerprint(f, s.Length, Convert.ToHexStringLower(SHA256.HashData(s)));
        }).ToList();
    }

    /// <summary>
    /// The files a configuration's data is read from: each CSV task's files, and the built-in datasets' local copies
    /// or cached downloads (an unpacked IMDB folder is left out: tens of thousands of files to hash on every start).
    /// </summary>
    public static IEnumerable<string> DataFilesOf(RunConfig config, Data.DatasetSources sources)
    {
        foreach (var t in config.Tasks)
        {
            if (t.FromFile)
            {
                var r = t.ResolveData(sources.DataDir);
                foreach (var f in new[] { r.Train, r.Val, r.Test }) if (f != null) yield return f;
                continue;
            }
            foreach (var f in Data.BuiltInTasks.DataFilesOf(t.Dataset, sources)) yield return f;
        }
    }

    static readonly JsonSerializerOptions FingerprintJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>Records <paramref name="prints"/> in the run folder.</summary>
    public static void SaveFingerprints(string dir, IReadOnlyList<Fingerprint> prints) =>
        AtomicFile.WriteAllText(System.IO.Path.Combine(dir, FingerprintsFile), JsonSerializer.Serialize(prints, FingerprintJson));

    /// <summary>
    /// Compares the recorded fingerprints with <paramref name="current"/>; throws naming the first file that changed,
    /// appeared or disappeared. Returns a note when the run has no record (written by an older kit).
    /// </summary>
    /// <param name="dir">The run folder.</param>
    /// <param name="current">The fingerprints of the files read now.</param>
    /// <param name="operation">What needs the same data, for the message (<c>--resume</c>, <c>evaluate</c>).</param>
    public static string? CheckFingerprints(string dir, IReadOnlyList<Fingerprint> current, string operation = "--resume")
    {
        var path = System.IO.Path.Combine(dir, FingerprintsFile);
        if (!File.Exists(path)) return $"{path} is missing (a run from an older kit): the data could not be checked against the run's";
        List<Fingerprint> saved;
        try { saved = JsonSerializer.Deserialize<List<Fingerprint>>(File.ReadAllText(path), FingerprintJson) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: expected the run's data fingerprints (JSON), found unreadable content ({e.Message}).", e); }
        var now = current.ToDictionary(f => f.Path, StringComparer.Ordinal);
        foreach (var s in saved)
        {
            if (!now.TryGetValue(s.Path, out var c))
                throw new InvalidDataException($"{operation}: data file '{s.Path}' was used by this run but is gone now; {operation} needs the same data.");
            if (c.Size != s.Size || c.Sha256 != s.Sha256)
                throw new InvalidDataException($"{operation}: data file '{s.Path}' changed since the run started (expected {s.Size} bytes, SHA-256 {s.Sha256[..12]}…; found {c.Size} bytes, SHA-256 {c.Sha256[..12]}…); {operation} needs the same data: restore it, or start a new run.");
        }
        var extra = current.Select(f => f.Path).Except(saved.Select(s => s.Path)).FirstOrDefault();
        if (extra != null) throw new InvalidDataException($"{operation}: data file '{extra}' is read now but was not when the run started; {operation} needs the same data.");
        return null;
    }

    /// <summary>The keys (dotted paths) where two JSON documents differ, with both values.</summary>
    public static IReadOnlyList<string> DiffJson(string savedJson, string currentJson)
    {
        var diffs = new List<string>();
        void Walk(JsonNode? a, JsonNode? b, string path)
        {
            if (a is JsonObject oa && b is JsonObject ob)
            {
                foreach (var key in oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key)))
                    Walk(oa[key], ob[key], path.Length == 0 ? key : $"{path}.{key}");
                return;
            }
            if (a is JsonArray aa && b is JsonArray ab && aa.Count == ab.Count)
            {
                for (int i = 0; i < aa.Count; i++) Walk(aa[i], ab[i], $"{path}[{i}]");
                return;
            }
            if (!JsonNode.DeepEquals(a, b))
                diffs.Add($"{path} (saved {a?.ToJsonString() ?? "absent"}, now {b?.ToJsonString() ?? "absent"})");
        }
        Walk(JsonNode.Parse(savedJson), JsonNode.Parse(currentJson), "");
        return diffs;
    }

    /// <summary>Releases the lock (the lock file stays: removing it could let two processes lock two different files).</summary>
    public void Dispose()
    {
        try { File.Delete(System.IO.Path.Combine(Path, HolderFile)); } catch (IOException) { }
        lockStream.Dispose();
    }
}
