/// Colour overlays of predicted classes on an image, for looking at predictions.
public enum Overlay {
    /// Distinct colours for classes 1, 2, … (class 0, background, is left uncoloured).
    static let palette: [(UInt8, UInt8, UInt8)] = [
        (255, 40, 40), (40, 200, 40), (40, 100, 255), (255, 200, 0), (200, 0, 200), (0, 200, 200),
    ]

    /// RGB samples (`H·W·3`) of the image in gray or colour with each non-background
    /// class tinted at 45 % opacity.
    public static func render(image: [Float], channels: Int, labels: [Int32], width: Int, height: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: width * height * 3)
        for pixel in 0..<(width * height) {
            for c in 0..<3 {
                let value = image[(channels == 3 ? c : 0) * width * height + pixel]
                var blended = min(max(value, 0), 1) * 255
                let label = Int(labels[pixel])
                if label > 0 {
                    let colour = palette[(label - 1) % palette.count]
                    let tint = Float([colour.0, colour.1, colour.2][c])
                    blended = 0.55 * blended + 0.45 * tint
                }
                output[pixel * 3 + c] = UInt8(blended.rounded())
            }
        }
        return output
    }
}
