/// The shapes of one image's convolution: input `C×H×W`, kernel `kH×kW`, stride,
/// zero padding and dilation, and the output size `Ho×Wo` they imply.
///
/// The column matrix of im2col is `[C·kH·kW, Ho·Wo]`: row `(c, i, j)` holds, for every
/// output pixel, the input value under kernel tap `(i, j)` of channel `c` (0 where the
/// tap falls in the padding).
public struct ConvolutionGeometry: Equatable, Sendable {
    public let channels: Int
    public let inputSize: Size2D
    public let kernelSize: Size2D
    public let stride: Size2D
    public let padding: Size2D
    public let dilation: Size2D
    public let outputSize: Size2D

    /// - Precondition: every size positive, padding non-negative, and the dilated kernel
    ///   fits in the padded input.
    public init(
        channels: Int, inputSize: Size2D, kernelSize: Size2D,
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1
    ) {
        require(channels > 0, "convolution: channels must be positive, got \(channels)")
        require(
            kernelSize.height > 0 && kernelSize.width > 0 && stride.height > 0 && stride.width > 0
                && dilation.height > 0 && dilation.width > 0,
            "convolution: kernel \(kernelSize), stride \(stride) and dilation \(dilation) must be positive")
        require(padding.height >= 0 && padding.width >= 0, "convolution: padding \(padding) must be non-negative")
        func outputLength(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int) -> Int {
            (input + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
        }
        let output = Size2D(
            outputLength(inputSize.height, kernelSize.height, stride.height, padding.height, dilation.height),
            outputLength(inputSize.width, kernelSize.width, stride.width, padding.width, dilation.width))
        require(
            output.height > 0 && output.width > 0
                && inputSize.height + 2 * padding.height >= dilation.height * (kernelSize.height - 1) + 1
                && inputSize.width + 2 * padding.width >= dilation.width * (kernelSize.width - 1) + 1,
            "convolution: kernel \(kernelSize) (dilation \(dilation)) does not fit input \(inputSize) padded by \(padding)")
        self.channels = channels
        self.inputSize = inputSize
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.outputSize = output
    }

    /// Rows of the column matrix: `C·kH·kW` (the GEMM's K in the forward pass).
    public var columnRows: Int { channels * kernelSize.height * kernelSize.width }
    /// Columns of the column matrix: `Ho·Wo`, one per output pixel.
    public var columnCount: Int { outputSize.height * outputSize.width }
    /// Elements of one input image.
    public var inputCount: Int { channels * inputSize.height * inputSize.width }

    /// Whether the input already is its own column matrix (1×1 kernel, stride 1, no
    /// padding), so im2col can be skipped. Dilation does not matter for a 1×1 kernel.
    public var isPointwise: Bool {
        kernelSize == 1 && stride == 1 && padding == 0
    }

    /// Whether every tap reads its input rows at the output's own row layout (stride 1 and
    /// output width equal to input width, e.g. a 3×3 kernel with padding 1): the taps of a
    /// run of output rows then read one contiguous, shifted run of the input plane.
    public var preservesRowLayout: Bool {
        stride == 1 && outputSize.width == inputSize.width
    }

    /// Consecutive ranges of output rows whose column matrices hold at most
    /// `maximumElements` floats each (but at least one row), covering all output rows.
    ///
    /// Lowering one such tile at a time keeps the column matrix in cache between im2col
    /// writing it and the GEMM reading it.
    public func outputRowTiles(maximumElements: Int) -> [Range<Int>] {
        let rowsPerTile = max(1, maximumElements / max(1, columnRows * outputSize.width))
        return Swift.stride(from: 0, to: outputSize.height, by: rowsPerTile).map { $0..<min($0 + rowsPerTile, outputSize.height) }
    }
}
