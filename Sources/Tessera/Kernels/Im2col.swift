/// The lowering of convolution to matrix multiplication (Caffe's im2col and col2im).
///
/// `im2col` gathers an image `[C, H, W]` into the column matrix `[C·kH·kW, Ho·Wo]` of
/// ``ConvolutionGeometry``; `col2im` is its adjoint: it scatters a column matrix back onto
/// an image, summing the contributions of overlapping taps.
public enum Im2col {
    /// Writes the column matrix of `image` into `columns` (every element is written).
    /// Parallel over the rows of the column matrix.
    public static func im2col(
        _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, into columns: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let image = image, columns = columns
        let kernelArea = g.kernelSize.height * g.kernelSize.width
        let outputHeight = g.outputSize.height, outputWidth = g.outputSize.width
        let inputHeight = g.inputSize.height, inputWidth = g.inputSize.width
        Parallel.forEach(g.columnRows, grain: max(1, 4096 / max(g.columnCount, 1))) { row in
            let channel = row / kernelArea
            let tapRow = (row / g.kernelSize.width) % g.kernelSize.height
            let tapColumn = row % g.kernelSize.width
            let source = image + channel * inputHeight * inputWidth
            let target = columns + row * g.columnCount
            let span = validOutputSpan(tapColumn: tapColumn, geometry: g)
            let columnOffset = tapColumn * g.dilation.width - g.padding.width
            for y in 0..<outputHeight {
                let inputRow = y * g.stride.height - g.padding.height + tapRow * g.dilation.height
                let line = target + y * outputWidth
                guard inputRow >= 0 && inputRow < inputHeight else {
                    line.update(repeating: 0, count: outputWidth)
                    continue
                }
                line.update(repeating: 0, count: span.lowerBound)
                let sourceLine = source + inputRow * inputWidth + columnOffset
                if g.stride.width == 1 {
                    (line + span.lowerBound).update(from: sourceLine + span.lowerBound, count: span.count)
                } else {
                    for x in span { line[x] = sourceLine[x &* g.stride.width] }
                }
                (line + span.upperBound).update(repeating: 0, count: outputWidth - span.upperBound)
            }
        }
    }

    /// Overwrites `image` with the sum of the column matrix's entries scattered back to
    /// the input positions they were gathered from. Parallel over channels.
    public static func col2im(
        _ columns: UnsafePointer<Float>, geometry g: ConvolutionGeometry, into image: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let image = image, columns = columns
        let outputHeight = g.outputSize.height, outputWidth = g.outputSize.width
        let inputHeight = g.inputSize.height, inputWidth = g.inputSize.width
        Parallel.forEach(g.channels) { channel in
            let target = image + channel * inputHeight * inputWidth
            target.update(repeating: 0, count: inputHeight * inputWidth)
            for tapRow in 0..<g.kernelSize.height {
                for tapColumn in 0..<g.kernelSize.width {
                    let row = (channel * g.kernelSize.height + tapRow) * g.kernelSize.width + tapColumn
                    let source = columns + row * g.columnCount
                    let span = validOutputSpan(tapColumn: tapColumn, geometry: g)
                    let columnOffset = tapColumn * g.dilation.width - g.padding.width
                    for y in 0..<outputHeight {
                        let inputRow = y * g.stride.height - g.padding.height + tapRow * g.dilation.height
                        guard inputRow >= 0 && inputRow < inputHeight else { continue }
                        let targetLine = target + inputRow * inputWidth + columnOffset
                        let sourceLine = source + y * outputWidth
                        if g.stride.width == 1 {
                            for x in span { targetLine[x] += sourceLine[x] }
                        } else {
                            for x in span { targetLine[x &* g.stride.width] += sourceLine[x] }
                        }
                    }
                }
            }
        }
    }

    /// The output columns `x` whose input column `x·stride − padding + tap·dilation`
    /// lies inside the image, computed once per row instead of tested per element.
    static func validOutputSpan(tapColumn: Int, geometry g: ConvolutionGeometry) -> Range<Int> {
        let offset = tapColumn * g.dilation.width - g.padding.width
        // Smallest x with x·s + offset ≥ 0, and smallest x with x·s + offset ≥ W.
        let lower = ceilingDivision(-offset, g.stride.width)
        let upper = ceilingDivision(g.inputSize.width - offset, g.stride.width)
        let start = min(max(lower, 0), g.outputSize.width)
        let end = min(max(upper, start), g.outputSize.width)
        return start..<end
    }

    /// ⌈a / b⌉ for any sign of `a` and positive `b`.
    private static func ceilingDivision(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? (a + b - 1) / b : -((-a) / b)
    }
}
