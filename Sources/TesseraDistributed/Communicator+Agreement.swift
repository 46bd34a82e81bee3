import Foundation

extension Communicator {
    /// Throws on every process unless all pass the same value: the options of a
    /// data-parallel job, say. The error names the first process that differs from rank
    /// 0, the first field that differs, and both values.
    public func requireSame<Value: Encodable>(_ value: Value, named what: String) throws {
        guard size > 1 else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let mine = [UInt8](try encoder.encode(value))
        let reference = broadcast(mine)
        let difference = reference == mine ? nil : Self.difference(mine, reference, rank: rank)
        let first = range(of: difference == nil ? .max : Int64(rank)).lowerBound
        guard first != .max else { return }
        let message = String(decoding: broadcast([UInt8]((difference ?? "").utf8), from: Int(first)), as: UTF8.self)
        throw CommunicatorError("rank \(first)'s \(what) differ from rank 0's: \(message)", onEveryProcess: true)
    }

    /// The first top-level field of two JSON objects that differs, with both values.
    private static func difference(_ mine: [UInt8], _ reference: [UInt8], rank: Int) -> String {
        func fields(_ bytes: [UInt8]) -> [String: String] {
            let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
            return object.mapValues { "\($0)" }
        }
        let (here, there) = (fields(mine), fields(reference))
        for key in Set(here.keys).union(there.keys).sorted() where here[key] != there[key] {
            return "\(key) is \(here[key] ?? "not set") on rank \(rank), \(there[key] ?? "not set") on rank 0"
        }
        return "their encodings differ"
    }
}
