import Foundation
import Testing
import Tessera

/// One case of a PyTorch fixture file: tensors named `caseN.name` and the JSON
/// parameters stored in the metadata entry `caseN`.
struct FixtureCase: CustomStringConvertible {
    let file: String
    let index: Int
    let contents: SafeTensors
    let parameters: [String: Any]

    /// All cases of a fixture file written by `scripts/make_fixtures.py`.
    static func all(in file: String) throws -> [FixtureCase] {
        let contents = try Fixtures.load(file)
        let count = Int(contents.metadata["count"] ?? "") ?? 0
        return try (0..<count).map { index in
            let json = Data((contents.metadata["case\(index)"] ?? "{}").utf8)
            let parameters = try JSONSerialization.jsonObject(with: json) as? [String: Any] ?? [:]
            return FixtureCase(file: file, index: index, contents: contents, parameters: parameters)
        }
    }

    func tensor(_ name: String) throws -> Tensor {
        try contents.tensor("case\(index).\(name)", path: file)
    }

    func integer(_ name: String) -> Int { parameters[name] as! Int }
    func flag(_ name: String) -> Bool { parameters[name] as! Bool }

    var description: String { "\(file) case \(index) \(parameters)" }
}

/// Expects `actual` to equal the PyTorch reference within relative 1e-4 (plus a small
/// absolute floor for values near zero), reporting the worst difference otherwise.
func expectMatchesReference(
    _ actual: Tensor, _ expected: Tensor, _ what: String,
    relativeTolerance: Float = 1e-4, absoluteTolerance: Float = 1e-5,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape), expected \(expected.shape)", sourceLocation: sourceLocation)
    guard actual.shape == expected.shape else { return }
    #expect(
        actual.isApproximatelyEqual(to: expected, relativeTolerance: relativeTolerance, absoluteTolerance: absoluteTolerance),
        "\(what): max |difference| \(actual.maximumAbsoluteDifference(to: expected))", sourceLocation: sourceLocation)
}
