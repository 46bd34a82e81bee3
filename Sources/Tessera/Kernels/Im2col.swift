/// The lowering of convolution to matrix multiplication (Caffe's im2col and col2im).
///
/// `im2col` gathers an image `[C, H, W]` into the column matrix `[C·kH·kW, Ho·Wo]` of
/// ``ConvolutionGeometry``; `col2im` is its adjoint: it scatters a column matrix back onto
/// an image, summing the contributions of overlapping taps.
public enum Im2col {
    /// Writes the column matrix of `image` into `columns` (every element is written).
    /// Parallel over the rows of the column matrix.
    ///
    /// - Parameter outputRows: restricts the columns to the output pixels of these output
    ///   rows: `columns` is then `[C·kH·kW, outputRows.count·Wo]`. The default is all rows.
    public static func im2col(
        _ image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, outputRows: Range<Int>? = nil,
        into columns: UnsafeMutablePointer<Float>
    ) {
        let outputRows = outputRows ?? 0..<g.outputSize.height
        let tileColumns = outputRows.count * g.outputSize.width
        nonisolated(unsafe) let image = image, columns = columns
        let kernelArea = g.kernelSize.height * g.kernelSize.width
        let outputWidth = g.outputSize.width
        let inputHeight = g.inputSize.height, inputWidth = g.inputSize.width
        Parallel.forEach(g.columnRows, grain: max(1, 4096 / max(tileColumns, 1))) { row in
            let channel = row / kernelArea
            let tapRow = (row / g.kernelSize.width) % g.kernelSize.height
            let tapColumn = row % g.kernelSize.width
            let source = image + channel * inputHeight * inputWidth
            let target = columns + row * tileColumns
            let span = validOutputSpan(tapColumn: tapColumn, geometry: g)
            let columnOffset = tapColumn * g.dilation.width - g.padding.width
            for y in outputRows {
                let inputRow = y * g.stride.height - g.padding.height + tapRow * g.dilation.height
                let line = target + (y - outputRows.lowerBound) * outputWidth
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

    /// Scatters the column matrix's entries back to the input positions they were
    /// gathered from, summing overlaps. Parallel over channels.
    ///
    /// - Parameters:
    ///   - outputRows: the output rows whose columns `columns` holds (as for ``im2col``).
    ///   - accumulate: add to `image` instead of overwriting it.
    public static func col2im(
        _ columns: UnsafePointer<Float>, geometry g: ConvolutionGeometry, outputRows: Range<Int>? = nil,
        accumulate: Bool = false, into image: UnsafeMutablePointer<Float>
    ) {
        nonisolated(unsafe) let image = image, columns = columns
        let outputRows = outputRows ?? 0..<g.outputSize.height
        let tileColumns = outputRows.count * g.outputSize.width
        let outputWidth = g.outputSize.width
        let inputHeight = g.inputSize.height, inputWidth = g.inputSize.width
        Parallel.forEach(g.channels) { channel in
            let target = image + channel * inputHeight * inputWidth
            if !accumulate { target.update(repeating: 0, count: inputHeight * inputWidth) }
            for tapRow in 0..<g.kernelSize.height {
                for tapColumn in 0..<g.kernelSize.width {
                    let row = (channel * g.kernelSize.height + tapRow) * g.kernelSize.width + tapColumn
                    let source = columns + row * tileColumns
                    let span = validOutputSpan(tapColumn: tapColumn, geometry: g)
                    let columnOffset = tapColumn * g.dilation.width - g.padding.width
                    for y in outputRows {
                        let inputRow = y * g.stride.height - g.padding.height + tapRow * g.dilation.height
                        guard inputRow >= 0 && inputRow < inputHeight else { continue }
                        let targetLine = target + inputRow * inputWidth + columnOffset
                        let sourceLine = source + (y - outputRows.lowerBound) * outputWidth
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
