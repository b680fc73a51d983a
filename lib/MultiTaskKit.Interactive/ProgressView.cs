using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;
using MultiTaskKit.Training;
using MultiTaskKit.Aggregation;
using MultiTaskKit.Data;
using MultiTaskKit.Models;
using MultiTaskKit.Optim;
using MultiTaskKit.Runs;
using MultiTaskKit.Steps;

namespace MultiTaskKit.Interactive;

/// <summary>
/// Live training progress in a notebook cell: one output, updated in place with <see cref="DisplayedValue.Update"/>
/// (at most a few times a second), never a flood of lines. Outside a kernel it does nothing visible. Scripts exported
/// from the notebooks get a console counterpart of the same name (<c>MultiTaskKit.Charts.Scripts.ProgressView</c>).
/// </summary>
public sealed class ProgressView : IProgress<TrainingProgress>
{
    readonly string title;
    readonly DisplayedValue? display;
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly TimeSpan minInterval;
    TimeSpan? lastUpdate;
    TrainingProgress? last;
    string? note;

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

    /// <summary>
    /// A trainer event: steps update the bar and losses, evaluations put their metrics in the note. The display is
    /// refreshed when <c>minInterval</c> has passed, on every evaluation, and when training ends.
    /// </summary>
    public void Report(TrainingProgress value)
    {
        if (value.Kind == "eval" && value.Evaluation != null)
            note = "eval: " + string.Join("; ", value.Evaluation.Select(t => t.Key + " " + string.Join(" ", t.Value.Select(m => $"{m.Key}={m.Value:0.000}"))));
        else if (value.Message != null) note = value.Message;
        if (value.TaskLosses.Count > 0 || last is null) last = value;
        else last = last with { Step = value.Step, TotalSteps = value.TotalSteps };
        var now = clock.Elapsed;
        if (lastUpdate is { } prev && now - prev < minInterval && value.Step < value.TotalSteps && value.Kind != "eval") return;
        lastUpdate = now;
        Updates++;
        display?.Update(this);
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
        if (note != null) sb.Append(" · ").Append(WebUtility.HtmlEncode(note));
        return sb.Append("</div>").ToString();
    }

    public override string ToString() => last is null ? $"{title}: starting" : $"{title}: step {last.Step}/{last.TotalSteps}";
}
