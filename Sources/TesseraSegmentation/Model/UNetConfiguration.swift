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

    /// The largest input channel count, class count and width accepted.
    public static let maximumInputChannels = 1024, maximumClasses = 4096, maximumWidth = 4096
    /// The most weights a model may have (2^30 floats, 4 GB).
    public static let maximumParameters = 1 << 30

    /// Whether the values are usable; otherwise a sentence saying which is not.
    public var problem: String? {
        if inputChannels < 1 || inputChannels > Self.maximumInputChannels {
            return "input channels must be between 1 and \(Self.maximumInputChannels), got \(inputChannels)"
        }
        if classes < 1 || classes > Self.maximumClasses { return "classes must be between 1 and \(Self.maximumClasses), got \(classes)" }
        if width < 1 || width > Self.maximumWidth { return "width must be between 1 and \(Self.maximumWidth), got \(width)" }
        if depth < 1 || depth > 8 { return "depth must be between 1 and 8, got \(depth)" }
        if bilinear && width < 2 { return "bilinear up-sampling needs width ≥ 2" }
        if parameterBound > Double(Self.maximumParameters) {
            return "width \(width) with depth \(depth) needs about \(Int(parameterBound / 1e6)) million weights, more than the limit of \(Self.maximumParameters / 1_000_000) million"
        }
        return nil
    }

    /// An upper bound of the weight count, computed without overflow: each level's two
    /// 3×3 convolutions in the encoder and the decoder, and its up-sampling.
    private var parameterBound: Double {
        (0...depth).reduce(0.0) { total, level in
            let channels = Double(width) * Double(1 << level)
            return total + 9 * channels * channels * 6 + 9 * channels * Double(inputChannels + classes)
        }
    }
}
