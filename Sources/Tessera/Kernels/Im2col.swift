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
        Parallel.forEach(g.columnRows, grain: max(1, 4096 / max(tileColumns, 1))) { row in
            fillRow(row, of: image, geometry: g, outputRows: outputRows, into: columns + row * tileColumns)
        }
    }

    /// Writes row `(c, i, j)` of the column matrix of `image` over `outputRows` into
    /// `target` (`outputRows.count·Wo` floats).
    static func fillRow(
        _ row: Int, of image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, outputRows: Range<Int>,
        into target: UnsafeMutablePointer<Float>
    ) {
        if g.preservesRowLayout {
            shiftedCopy(row: row, of: image, geometry: g, outputRows: outputRows, into: target)
            return
        }
        let kernelArea = g.kernelSize.height * g.kernelSize.width
        let outputWidth = g.outputSize.width
        let inputHeight = g.inputSize.height, inputWidth = g.inputSize.width
        let channel = row / kernelArea
        let tapRow = (row / g.kernelSize.width) % g.kernelSize.height
        let tapColumn = row % g.kernelSize.width
        let source = image + channel * inputHeight * inputWidth
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

    /// Fills row `(c, i, j)` of a column matrix whose geometry preserves the row layout:
    /// for every output row the tap reads, the run of input rows it covers is one shifted
    /// copy of the channel's plane, after which the taps that fall into the left or right
    /// padding (the copy wrapped them around from a neighbouring row) are zeroed. Short
    /// output rows (8 or 16 pixels deep in a U-Net) then cost one copy instead of one
    /// copy and two fills each.
    private static func shiftedCopy(
        row: Int, of image: UnsafePointer<Float>, geometry g: ConvolutionGeometry, outputRows: Range<Int>,
        into target: UnsafeMutablePointer<Float>
    ) {
        let width = g.outputSize.width, planeCount = g.inputSize.height * g.inputSize.width
        let kernelArea = g.kernelSize.height * g.kernelSize.width
        let tapRow = (row / g.kernelSize.width) % g.kernelSize.height, tapColumn = row % g.kernelSize.width
        let plane = image + (row / kernelArea) * planeCount
        let rowShift = tapRow * g.dilation.height - g.padding.height
        let columnShift = tapColumn * g.dilation.width - g.padding.width
        // Output rows whose input row y + rowShift lies inside the image.
        let first = min(max(outputRows.lowerBound, -rowShift), outputRows.upperBound)
        let end = max(min(outputRows.upperBound, g.inputSize.height - rowShift), first)
        let prefix = (first - outputRows.lowerBound) * width, count = (end - first) * width
        target.update(repeating: 0, count: prefix)
        (target + prefix + count).update(repeating: 0, count: (outputRows.upperBound - end) * width)
        guard count > 0 else { return }
        // Copy target[k] = plane[start + k], clamped to the plane; what the clamp skips lies
        // in the padding columns zeroed below.
        let start = (first + rowShift) * width + columnShift
        let lower = max(0, -start), upper = min(count, planeCount - start)
        let block = target + prefix
        if upper > lower { (block + lower).update(from: plane + start + lower, count: upper - lower) }
        let span = validOutputSpan(tapColumn: tapColumn, geometry: g)
        if span.count == width { return }
        for line in Swift.stride(from: 0, to: count, by: width) {
            for x in 0..<span.lowerBound { block[line &+ x] = 0 }
            for x in span.upperBound..<width { block[line &+ x] = 0 }
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
        let leadingDimension = outputRows.count * g.outputSize.width
        Parallel.forEach(g.channels) { channel in
            scatterChannel(
                channel, of: columns, leadingDimension: leadingDimension, geometry: g, outputRows: outputRows,
                accumulate: accumulate, into: image)
        }
    }

    /// Scatters the `kH·kW` rows of `channel` in `columns` onto that channel's plane of
    /// `image`.
    static func scatterChannel(
        _ channel: Int, of columns: UnsafePointer<Float>, leadingDimension: Int, geometry g: ConvolutionGeometry,
        outputRows: Range<Int>, accumulate: Bool, into image: UnsafeMutablePointer<Float>
    ) {
        let outputWidth = g.outputSize.width
        let inputHeight = g.inputSize.height, inputWidth = g.inputSize.width
        let target = image + channel * inputHeight * inputWidth
        if !accumulate { target.update(repeating: 0, count: inputHeight * inputWidth) }
        for tapRow in 0..<g.kernelSize.height {
            for tapColumn in 0..<g.kernelSize.width {
                let row = (channel * g.kernelSize.height + tapRow) * g.kernelSize.width + tapColumn
                let source = columns + row * leadingDimension
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
