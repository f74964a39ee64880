/* dns_wire: the DNS wire format as troupe's DNS server needs it (RFC 1035,
 * EDNS from RFC 6891): reading a request (header, one question, the other
 * sections checked and skipped, the OPT record), domain names in text and
 * wire form, and writing a response whose names are compressed against the
 * question. Owns no memory and keeps no state; what to answer is
 * core/dns_zone.c's, the request side core/dns.c's. Every byte of a request
 * is read through core/buf's checked reader (fuzz target: fuzz_dns). */
#ifndef TROUPE_DNS_WIRE_H
#define TROUPE_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNSW_HEADER   12
#define DNSW_NAME_MAX 255                 /* a name in wire form, the root's 0 included */
#define DNSW_TEXT_MAX (4 * DNSW_NAME_MAX) /* a name in text, each byte as \DDD at worst */

/* record types, classes, opcodes and response codes troupe names */
enum {
    DNSW_A = 1,
    DNSW_NS = 2,
    DNSW_CNAME = 5,
    DNSW_SOA = 6,
    DNSW_PTR = 12,
    DNSW_MX = 15,
    DNSW_TXT = 16,
    DNSW_AAAA = 28,
    DNSW_SRV = 33,
    DNSW_OPT = 41,
    DNSW_HTTPS = 65,
    DNSW_IXFR = 251,
    DNSW_AXFR = 252,
    DNSW_ANY = 255,
};
#define DNSW_CLASS_IN     1
#define DNSW_OPCODE_QUERY 0
enum {
    DNSW_NOERROR = 0,
    DNSW_FORMERR = 1,
    DNSW_SERVFAIL = 2,
    DNSW_NXDOMAIN = 3,
    DNSW_NOTIMP = 4,
    DNSW_REFUSED = 5,
    DNSW_BADVERS = 16,
};

/* ---- the header (callers check that DNSW_HEADER bytes are there) ---- */

uint16_t dnsw_get16(const uint8_t *p);
void dnsw_put16(uint8_t *p, uint16_t v);
#define DNSW_ID      0
#define DNSW_QDCOUNT 4
#define DNSW_ANCOUNT 6
#define DNSW_NSCOUNT 8
#define DNSW_ARCOUNT 10
#define DNSW_QR      0x80 /* in byte 2 */
#define DNSW_AA      0x04 /* in byte 2 */
#define DNSW_TC      0x02 /* in byte 2 */
#define DNSW_RA      0x80 /* in byte 3 */
static inline int dnsw_qr(const uint8_t *h)
{
    return (h[2] & DNSW_QR) != 0;
}
static inline unsigned dnsw_opcode(const uint8_t *h)
{
    return (h[2] >> 3) & 0xf;
}
static inline unsigned dnsw_rcode(const uint8_t *h)
{
    return h[3] & 0xf;
}

/* ---- names ---- */

/* The wire form of a name in text ("a.b.", the last dot optional; "." is
 * the root) into out, DNSW_NAME_MAX bytes. Returns its size, or 0 when the
 * text is no name: an empty label, a label over 63 bytes, over 255 in all. */
size_t dnsw_name_from_text(uint8_t *out, const char *text);
/* The text of a wire name, with the final dot; bytes other than letters,
 * digits, '-' and '_' as \DDD. out has DNSW_TEXT_MAX + 1 bytes. */
void dnsw_name_to_text(const uint8_t *name, char *out);
size_t dnsw_name_size(const uint8_t *name); /* of an uncompressed name */
void dnsw_name_lower(uint8_t *name);
/* How many labels name has below zone (0: the zone itself), or -1 when it
 * is not inside it. Both in wire form and lower case. */
int dnsw_name_depth(const uint8_t *name, const uint8_t *zone);

/* ---- a request ---- */

struct dnsw_query {
    uint8_t qname[DNSW_NAME_MAX]; /* lower case */
    size_t qsize;                 /* bytes of the question section in the request */
    uint16_t qtype, qclass;
    int has_opt;
    uint16_t opt_payload; /* the UDP size the client takes */
    uint8_t opt_version;
};

/* Reads a request of len bytes: exactly one question, whose name is not
 * compressed; every record of the other sections well-formed (names,
 * compression pointers that point back, lengths); at most one OPT, in the
 * additional section, owned by the root, with well-formed options; nothing
 * after the last record. Returns 0, or -EBADMSG (the answer is FORMERR). */
int dnsw_parse_query(const uint8_t *msg, size_t len, struct dnsw_query *q);

/* ---- a response ---- */

/* A response being written into a buffer: the header and the question
 * (lower case) first, then records; names are compressed against the
 * question name, as far as they share a suffix with it. */
struct dnsw_msg {
    uint8_t *wire;
    size_t len, cap;
    const uint8_t *qname; /* in wire at DNSW_HEADER */
    size_t qname_len;
};

enum dnsw_section {
    DNSW_ANSWER = DNSW_ANCOUNT,
    DNSW_AUTHORITY = DNSW_NSCOUNT,
    DNSW_ADDITIONAL = DNSW_ARCOUNT
};

/* Starts a response to q in buf (cap bytes, at least DNSW_HEADER + 260):
 * all counts 0 but the question's; ID and flags are the caller's. */
void dnsw_msg_init(struct dnsw_msg *m, uint8_t *buf, size_t cap, const struct dnsw_query *q);
/* Appends one record to section (records go in section order): the owner
 * compressed, the rdata as given, except that the names in the rdata of NS
 * and SOA are compressed too (SRV targets never are, RFC 2782); counts
 * updated. Returns 0, or -EMSGSIZE when the record does not fit (then
 * nothing is written). */
int dnsw_put_rr(struct dnsw_msg *m, enum dnsw_section section, const uint8_t *owner, uint16_t type,
                uint32_t ttl, const uint8_t *rdata, size_t rdlen);

#endif
