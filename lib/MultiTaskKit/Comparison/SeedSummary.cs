using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace MultiTaskKit.Comparison;

/// <summary>
/// One metric over the seeds of one configuration: the mean, the sample standard deviation (n − 1 in the denominator)
/// and the two-sided confidence interval of the mean from Student's t with n − 1 degrees of freedom,
/// mean ± t₁₋α/₂,ₙ₋₁ · sd/√n (e.g. Wasserman, <i>All of Statistics</i>, 2004, §10.7; the practice of reporting a mean
/// and spread over several seeds instead of one run follows Reimers &amp; Gurevych, EMNLP 2017, and Dror et al., ACL
/// 2018). With one seed the spread and interval are undefined (NaN). The t quantiles are MathNet.Numerics'.
/// </summary>
/// <param name="Count">Number of seeds.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="StandardDeviation">Sample standard deviation (NaN for one value).</param>
/// <param name="Low">Lower end of the interval (NaN for one value).</param>
/// <param name="High">Upper end of the interval (NaN for one value).</param>
/// <param name="Confidence">The interval's coverage, e.g. 0.95.</param>
public sealed record SeedSummary(int Count, double Mean, double StandardDeviation, double Low, double High, double Confidence)
{
    public static SeedSummary Of(IReadOnlyList<double> values, double confidence = 0.95)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("seed summary: expected at least one value, found none", nameof(values));
        if (!(confidence > 0 && confidence < 1)) throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "expected a coverage in (0, 1)");
        double mean = values.Mean();
        if (values.Count == 1) return new SeedSummary(1, mean, double.NaN, double.NaN, double.NaN, confidence);
        double sd = values.StandardDeviation();
        double half = StudentT.InvCDF(0, 1, values.Count - 1, 1 - (1 - confidence) / 2) * sd / Math.Sqrt(values.Count);
        return new SeedSummary(values.Count, mean, sd, mean - half, mean + half, confidence);
    }

    /// <summary>The <paramref name="p"/>-quantile of Student's t with <paramref name="degreesOfFreedom"/> degrees of freedom (MathNet.Numerics).</summary>
    public static double StudentQuantile(double p, int degreesOfFreedom) => StudentT.InvCDF(0, 1, degreesOfFreedom, p);

    /// <summary>"0.8635 ± 0.0040 [0.8585, 0.8685]" (the ± is one standard deviation).</summary>
    public string Format(string number = "F4") =>
        Count == 1 ? Mean.ToString(number, System.Globalization.CultureInfo.InvariantCulture)
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Mean.ToString(number, System.Globalization.CultureInfo.InvariantCulture)} ± {StandardDeviation.ToString(number, System.Globalization.CultureInfo.InvariantCulture)} [{Low.ToString(number, System.Globalization.CultureInfo.InvariantCulture)}, {High.ToString(number, System.Globalization.CultureInfo.InvariantCulture)}]");
}
