/// How error messages stay one readable line: long lists are cut after a few items with
/// a count of the rest, and control characters in names (a newline, an escape) are shown
/// escaped instead of acting on the terminal.
public enum MessageText {
    /// `items` joined by `separator`, the first `limit` of them and "and N more".
    public static func list(_ items: [String], separator: String = ", ", limit: Int = 5) -> String {
        guard items.count > limit else { return items.joined(separator: separator) }
        return items.prefix(limit).joined(separator: separator) + separator + "and \(items.count - limit) more"
    }

    /// `text` with every control character written as a Swift escape (`\n`, `\u{1B}`).
    public static func escaped(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format:
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
