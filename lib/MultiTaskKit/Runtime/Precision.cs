namespace MultiTaskKit.Runtime;

/// <summary>
/// The arithmetic of a model's matrix products. Parameters, optimizer state, gradients and losses are float32 in
/// every precision; only the products (and the activations between two products) change.
/// </summary>
public enum Precision
{
    /// <summary>Everything in float32.</summary>
    Fp32,
    /// <summary>
    /// Mixed bfloat16: the BERT trunk's matrix products, forward and backward, run in bfloat16 on float32 master weights
    /// (see <see cref="Models.MixedPrecision"/> for what stays float32 and why).
    /// </summary>
    Bf16,
    /// <summary><see cref="Bf16"/> where the device has native bfloat16 and a measured bf16 product is faster, else <see cref="Fp32"/> (<see cref="PrecisionProbe"/>).</summary>
    Auto,
}

/// <summary>Parsing and naming of <see cref="Precision"/> as the CLI and run configurations spell it.</summary>
public static class PrecisionNames
{
    /// <summary><c>fp32</c>, <c>bf16</c> or <c>auto</c>.</summary>
    public static string Name(this Precision precision) => precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16 => "bf16",
        Precision.Auto => "auto",
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "expected fp32, bf16 or auto"),
    };

    /// <summary>Reads <c>fp32</c>, <c>bf16</c> or <c>auto</c> (case-insensitive); <paramref name="source"/> names the argument or key in the error.</summary>
    public static Precision Parse(string text, string source = "--precision") => text?.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => Precision.Fp32,
        "bf16" or "bfloat16" => Precision.Bf16,
        "auto" => Precision.Auto,
        _ => throw new ArgumentException($"{source}: expected fp32, bf16 or auto, found '{text}'."),
    };
}
