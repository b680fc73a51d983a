using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;
using MultiTaskKit.Tutorials;

namespace MultiTaskKit.Interactive;

/// <summary>
/// Live training progress in a notebook cell: one output, updated in place with <see cref="DisplayedValue.Update"/>
/// (at most a few times a second), never a flood of lines. Outside a kernel it does nothing visible.
/// </summary>
public sealed class ProgressView : IProgress<TrainingSnapshot>, IProgress<Training.TrainingProgress>
{
    readonly string title;
    readonly DisplayedValue? display;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly TimeSpan minInterval;
    TimeSpan? lastUpdate;
    TrainingSnapshot? last;

    /// <summary>Updates pushed to the notebook (for tests and for the curious).</summary>
    public int Updates { get; private set; }

    ProgressView(string title, TimeSpan minInterval)
    {
        this.title = title; this.minInterval = minInterval;
        display = KernelInvocationContext.Current?.Display(this, HtmlFormatter.MimeType);
    }

    /// <summary>Shows a progress display in the current cell and returns it.</summary>
    public static ProgressView Show(string title = "training", TimeSpan? minInterval = null) =>
        new(title, minInterval ?? TimeSpan.FromMilliseconds(250));

    /// <summary>Records a snapshot; the display is refreshed when <c>minInterval</c> has passed or training ended.</summary>
    public void Report(TrainingSnapshot value)
    {
        last = value;
        var now = clock.Elapsed;
        if (lastUpdate is { } prev && now - prev < minInterval && value.Step < value.TotalSteps) return;
        lastUpdate = now;
        Updates++;
        display?.Update(this);
    }

    /// <summary>A trainer event: steps update the bar and losses, evaluations add their metrics to the note.</summary>
    public void Report(Training.TrainingProgress value)
    {
        string? note = value.Kind == "eval" && value.Evaluation != null
            ? "eval: " + string.Join("; ", value.Evaluation.Select(t => t.Key + " " + string.Join(" ", t.Value.Select(m => $"{m.Key}={m.Value:0.000}"))))
            : value.Message ?? last?.Note;
        var losses = value.TaskLosses.Count > 0 ? value.TaskLosses : last?.TaskLosses ?? new Dictionary<string, double>();
        Report(new TrainingSnapshot(value.Step, value.TotalSteps, losses, value.StepsPerSecond, note));
    }

    /// <summary>The current state as HTML (escaped).</summary>
    public string ToHtml()
    {
        var sb = new StringBuilder("<div class=\"mtk-progress\" style=\"font-family:monospace\">");
        sb.Append("<b>").Append(WebUtility.HtmlEncode(title)).Append("</b> ");
        if (last is null) return sb.Append("starting…</div>").ToString();
        double frac = last.TotalSteps > 0 ? Math.Clamp(last.Step / (double)last.TotalSteps, 0, 1) : 0;
        sb.Append(CultureInfo.InvariantCulture, $"<progress value=\"{last.Step}\" max=\"{Math.Max(1, last.TotalSteps)}\"></progress> ")
          .Append(CultureInfo.InvariantCulture, $"step {last.Step}/{last.TotalSteps} ({frac:P0})");
        if (!double.IsNaN(last.StepsPerSecond) && last.StepsPerSecond > 0)
        {
            var eta = TimeSpan.FromSeconds((last.TotalSteps - last.Step) / last.StepsPerSecond);
            sb.Append(CultureInfo.InvariantCulture, $" · {last.StepsPerSecond:0.0} steps/s · ETA {eta:mm\\:ss}");
        }
        foreach (var (task, loss) in last.TaskLosses)
            sb.Append(" · ").Append(WebUtility.HtmlEncode(task)).Append(CultureInfo.InvariantCulture, $" loss {loss:0.0000}");
        if (last.Note != null) sb.Append(" · ").Append(WebUtility.HtmlEncode(last.Note));
        return sb.Append("</div>").ToString();
    }

    public override string ToString() => last is null ? $"{title}: starting" : $"{title}: step {last.Step}/{last.TotalSteps}";
}
