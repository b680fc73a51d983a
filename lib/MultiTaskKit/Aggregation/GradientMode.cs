namespace MultiTaskKit.Aggregation;

/// <summary>With respect to what the per-task gradients are taken.</summary>
public enum GradientMode
{
    /// <summary>The shared parameters: exact, one backward per task through the whole network.</summary>
    Parameters,
    /// <summary>The shared representation z ("rep-grad", LibMTL; MGDA-UB's upper bound): one backward per task through
    /// its own layers and head only, then one backward of the combined gradient through the shared part. Needs
    /// <c>StepOptions.Representation</c> from <c>model.Forward(input, representationGradients: true)</c>.</summary>
    Representation,
}
