import NIOCore

/// Rows in PostgreSQL's COPY text format: tab-separated, one per line, with backslash escapes.
enum CopyText {
    static func append(_ row: InventoryRow, to buffer: inout ByteBuffer) {
        buffer.writeString(String(row.line))
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendEscaped(row.sku, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        appendEscaped(row.name, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(row.priceCents))
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(row.stock))
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(row.perShopperLimit))
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func appendEscaped(_ text: String, to buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }
}
