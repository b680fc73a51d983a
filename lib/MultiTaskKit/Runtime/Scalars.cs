using TorchSharp;

namespace MultiTaskKit.Runtime;

/// <summary>
/// Native scalars that live as long as the process, for the kit's hot paths.
/// <para>Why: where an API takes a <see cref="Scalar"/>, TorchSharp turns a plain number (<c>a + b</c>'s implicit
/// alpha of 1, <c>x.ne(0)</c>, <c>x.clamp_min(1e-9)</c>) into a new <see cref="Scalar"/> and passes only its native
/// handle on. Nothing keeps that object reachable while the native call runs, so a garbage collection started by
/// another thread can finalize it mid-call, and libtorch then reads a freed scalar ("Expected false to be true …
/// toFloat"). A notebook kernel has many threads that allocate; a default-size run of notebook 02 failed this way
/// here, in the residual add of a BERT layer, several hundred training steps in. A static field keeps these reachable,
/// and a scalar made for one call is held by a <c>using</c> variable until the call returns.</para>
/// </summary>
internal static class Scalars
{
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar ZeroInt64 = 0L.ToScalar();
    /// <summary>The most negative float: masked attention scores (a row with no visible key stays finite and uniform).</summary>
    public static readonly Scalar MostNegativeFloat = float.MinValue.ToScalar();
    /// <summary>The most negative finite bfloat16, −(2 − 2⁻⁷)·2¹²⁷: masked bf16 scores (<see cref="MostNegativeFloat"/> rounds to −∞ in bf16).</summary>
    public static readonly Scalar MostNegativeBFloat16 = (-3.3895313892515355e38).ToScalar();
    /// <summary>Sentence-transformers' floor on the token count of mean pooling.</summary>
    public static readonly Scalar PoolingFloor = 1e-9.ToScalar();
}
