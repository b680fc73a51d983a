namespace MultiTaskKit.Text;

/// <summary>Which tokens a sequence longer than the maximum length keeps. [CLS] and [SEP] are always kept.</summary>
public enum Truncation
{
    /// <summary>The first tokens (Hugging Face's default, <c>truncation_side="right"</c>).</summary>
    Head,
    /// <summary>The last tokens (<c>truncation_side="left"</c>).</summary>
    Tail,
    /// <summary>
    /// The start and the end, dropping the middle: a quarter of the budget from the head and the rest from the
    /// tail, the best split for long IMDB reviews in Sun et al., "How to Fine-Tune BERT for Text Classification?"
    /// (CCL 2019, arXiv:1905.05583): head 128 + tail 382 of 510. Reviews state their verdict at the start or the end.
    /// </summary>
    HeadAndTail,
}
