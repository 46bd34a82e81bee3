import Foundation

extension Tensor: CustomStringConvertible {
    /// Nested brackets like NumPy's, with long dimensions elided to their first and last
    /// three entries, followed by the shape.
    public var description: String {
        var text = ""
        describe(dimension: 0, offset: 0, into: &text)
        return "Tensor(\(text), shape: \(shape))"
    }

    private func describe(dimension: Int, offset: Int, into text: inout String) {
        if dimension == rank {
            text += String(format: "%.4g", Double(storage.pointer[offset]))
            return
        }
        let length = shape[dimension]
        let stride = shape[(dimension + 1)...].reduce(1, *)
        let shown: [Int] = length > 6 ? Array(0..<3) + [-1] + Array((length - 3)..<length) : Array(0..<length)
        text += "["
        for (position, index) in shown.enumerated() {
            if position > 0 { text += ", " }
            if index < 0 {
                text += "…"
            } else {
                describe(dimension: dimension + 1, offset: offset + index * stride, into: &text)
            }
        }
        text += "]"
    }
}
