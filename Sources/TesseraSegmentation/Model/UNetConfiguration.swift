/// The shape of a U-Net: what a checkpoint records so that the same model can be rebuilt.
public struct UNetConfiguration: Codable, Equatable, Sendable {
    /// Channels of the input images (1 gray, 3 RGB).
    public var inputChannels: Int
    /// Output channels: 1 for binary segmentation (a logit), otherwise one per class.
    public var classes: Int
    /// Channels of the first level; level `i` has `width · 2^i`.
    public var width: Int
    /// Number of down-sampling steps.
    public var depth: Int
    /// Bilinear up-sampling instead of transposed convolutions.
    public var bilinear: Bool

    public init(inputChannels: Int = 1, classes: Int = 1, width: Int = 16, depth: Int = 4, bilinear: Bool = false) {
        self.inputChannels = inputChannels
        self.classes = classes
        self.width = width
        self.depth = depth
        self.bilinear = bilinear
    }

    /// Input sizes must be multiples of this for the pooling to divide evenly.
    public var sizeMultiple: Int { 1 << depth }

    /// Whether the values are usable; otherwise a sentence saying which is not.
    public var problem: String? {
        if inputChannels < 1 { return "input channels must be at least 1, got \(inputChannels)" }
        if classes < 1 { return "classes must be at least 1, got \(classes)" }
        if width < 1 { return "width must be at least 1, got \(width)" }
        if depth < 1 || depth > 8 { return "depth must be between 1 and 8, got \(depth)" }
        if bilinear && width < 2 { return "bilinear up-sampling needs width ≥ 2" }
        return nil
    }
}
