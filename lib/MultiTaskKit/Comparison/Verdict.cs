using System.Globalization;

namespace MultiTaskKit.Comparison;

/// <summary>What a comparison concludes for one task and one variant against its single-task baseline.</summary>
public enum VerdictKind { Helps, Hurts, NoDetectableDifference }

/// <summary>
/// The one-line verdict on a task: does the variant help, hurt, or make no difference that these runs can detect, at
/// level α (two-sided)? The rule asks a difference to stand out from both sources of chance (Dror et al. 2018 on
/// choosing the test; Bouthillier et al., MLSys 2021, on accounting for the variance of training as well as of the test
/// set):
/// <list type="bullet">
/// <item>from the training randomness: the paired t-test across seeds (<see cref="PairedSeedTest"/>), p &lt; α;</item>
/// <item>from the test-set sampling: the paired bootstrap over test examples combined over seeds
/// (<see cref="PairedBootstrap"/>), p &lt; α (when the run folders hold predictions; otherwise the seed test alone);</item>
/// </list>
/// and both differences must have the same sign. With one seed only the bootstrap can speak, and the line says that the
/// training randomness went untested. The line also gives the effect size d_z and the seeds that a difference of this
/// size would need for 80 % power (<see cref="PairedSeedTest.SeedsNeeded"/>).
/// </summary>
public sealed record Verdict(string Task, string Variant, string Metric, VerdictKind Kind, PairedSeedTest Seeds, BootstrapResult? Bootstrap, double Alpha, int? SeedsNeeded)
{
    public static Verdict Decide(string task, string variant, string metric, PairedSeedTest seeds, BootstrapResult? bootstrap, double alpha = 0.05)
    {
        bool seedSays = seeds.Count >= 2 && seeds.PValue < alpha;
        bool bootSays = bootstrap is { } b && b.PValue < alpha;
        int sign = Math.Sign(seeds.MeanDifference);
        bool agree = bootstrap is null || Math.Sign(bootstrap.Observed) == sign;
        bool significant = seeds.Count >= 2
            ? seedSays && (bootstrap is null || bootSays) && agree
            : bootSays;
        var kind = !significant || sign == 0 ? VerdictKind.NoDetectableDifference : sign > 0 ? VerdictKind.Helps : VerdictKind.Hurts;
        return new Verdict(task, variant, metric, kind, seeds, bootstrap, alpha, PairedSeedTest.SeedsNeeded(seeds.EffectSize, alpha));
    }

    public string KindText => Kind switch
    {
        VerdictKind.Helps => "helps",
        VerdictKind.Hurts => "hurts",
        _ => "no detectable difference",
    };

    /// <summary>e.g. <c>imdb: split@2 vs single-task: no detectable difference at α = 0.05 (accuracy −0.0105 ± 0.0040 …)</c>.</summary>
    public string Line()
    {
        static string F(double x, string f = "F4") => double.IsNaN(x) ? "n/a" : x.ToString(f, CultureInfo.InvariantCulture);
        static string P(double p) => double.IsNaN(p) ? "p n/a" : p < 0.001 ? "p < 0.001" : "p = " + p.ToString("F3", CultureInfo.InvariantCulture);
        var s = Seeds;
        var text = $"{Task}: {Variant} vs single-task: {KindText} at α = {Alpha.ToString(CultureInfo.InvariantCulture)} " +
                   $"({Metric} {(s.MeanDifference >= 0 ? "+" : "")}{F(s.MeanDifference)} ± {F(s.StandardDeviation)} over {s.Count} seed{(s.Count == 1 ? "" : "s")}";
        if (s.Count >= 2) text += $", 95 % CI [{F(s.Low)}, {F(s.High)}], d_z = {F(s.EffectSize, "F2")}, seeds {P(s.PValue)}";
        text += Bootstrap is { } b ? $"; bootstrap over test examples {(b.Observed >= 0 ? "+" : "")}{F(b.Observed)} [{F(b.Low)}, {F(b.High)}], {P(b.PValue)}" : "; no test predictions for a bootstrap";
        if (s.Count < 2) text += "; one seed: the training randomness is untested";
        text += ")";
        text += SeedsNeeded switch
        {
            null => "; no difference to power a test for",
            int n when Kind != VerdictKind.NoDetectableDifference => $"; {n} seeds would detect a difference of this size with 80 % power",
            int n => $"; a difference of this size would need {n} seeds for 80 % power",
        };
        return text + ".";
    }
}
