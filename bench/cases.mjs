// Check requests both benchmarks replay: the engine bench turns each into Facts (through the
// real parseCheckRequest and factsFromCheckRequest, so every case is a shape production can
// produce), the HTTP bench posts the bodies to /v1/check.
//
// The mix is deliberately varied so that no single fast path (memo hit, early rule match) can
// stand in for the engine: allowed ISP users, VPN / datacenter ASNs, restricted countries and
// regions, Tor, no geo at all, zone aliases in any case, invalid zones, offset-only clients,
// skewed clocks (whose own offset lookups hit a different 15-minute bucket than `now`),
// Accept-Language variants, both surfaces, IPv4 and IPv6.
//
// Clocks are written against BENCH_NOW (the instant the engine bench injects); over HTTP the
// worker uses its own clock, so there the skew cases simply read as "far off".

/** The instant every engine evaluation is made at (time is injected, never read). */
export const BENCH_NOW = Date.parse('2026-11-26T12:00:00Z');

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36';
const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1';
const SDK = 'geogate-sdk-python/1.4.2';

/**
 * `{ name, body }`; `cf` (optional) is `request.cf`-style geo that the engine bench merges as a
 * GEO_FROM_CF deployment would (the HTTP bench runs with GEO_FROM_CF = "false" and ignores it).
 */
export const CASES = [
  // United States: ISPs, clean and with odd client claims.
  { name: 'us-comcast-ny', body: { ip: '203.0.113.7', geo: { country: 'US', regionCode: 'NY', timezone: 'America/New_York', asn: 7922, asOrganization: 'Comcast Cable' }, client: { timezone: 'America/New_York', utcOffsetMinutes: -300, acceptLanguage: 'en-US,en;q=0.9', userAgent: CHROME, clock: '2026-11-26T07:00:12-05:00' }, surface: 'web' } },
  { name: 'us-verizon-la', body: { ip: '198.51.100.23', geo: { country: 'US', regionCode: 'CA', timezone: 'America/Los_Angeles', asn: 701, asOrganization: 'Verizon Business' }, client: { timezone: 'America/Los_Angeles', utcOffsetMinutes: -480, acceptLanguage: 'en-US', userAgent: SAFARI }, surface: 'web' } },
  { name: 'us-att-api-no-client', body: { ip: '192.0.2.200', geo: { country: 'US', regionCode: 'TX', timezone: 'America/Chicago', asn: 7018 }, surface: 'api' } },
  { name: 'us-alias-us-eastern', body: { ip: '203.0.113.9', geo: { country: 'US', timezone: 'America/New_York', asn: 7922 }, client: { timezone: 'US/Eastern', utcOffsetMinutes: -300, acceptLanguage: 'en-US,en;q=0.8,es;q=0.5' }, surface: 'web' } },
  { name: 'us-inconsistent-offset', body: { ip: '203.0.113.10', geo: { country: 'US', timezone: 'America/New_York', asn: 7922 }, client: { timezone: 'America/New_York', utcOffsetMinutes: 60, acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'us-invalid-zone', body: { ip: '203.0.113.11', geo: { country: 'US', asn: 701 }, client: { timezone: 'Mars/Olympus_Mons', acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'us-garbage-zone', body: { ip: '203.0.113.12', geo: { country: 'US', asn: 701 }, client: { timezone: '  ', utcOffsetMinutes: -300 }, surface: 'web' } },
  { name: 'us-offset-only-480', body: { ip: '203.0.113.13', geo: { country: 'US', timezone: 'America/Chicago', asn: 7018 }, client: { utcOffsetMinutes: 480, acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'us-client-prc', body: { ip: '203.0.113.14', geo: { country: 'US', timezone: 'America/Los_Angeles', asn: 7922 }, client: { timezone: 'PRC', utcOffsetMinutes: 480, acceptLanguage: 'zh-CN,zh;q=0.9,en;q=0.8', userAgent: CHROME }, surface: 'web' } },
  { name: 'us-client-asia-shanghai-lc', body: { ip: '203.0.113.15', geo: { country: 'US', asn: 701 }, client: { timezone: 'asia/shanghai', acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'us-client-chongqing', body: { ip: '203.0.113.16', geo: { country: 'US', asn: 7018 }, client: { timezone: 'Asia/Chongqing', utcOffsetMinutes: 480 }, surface: 'api' } },
  { name: 'us-m247-vpn', body: { ip: '198.51.100.77', geo: { country: 'US', regionCode: 'NY', timezone: 'America/New_York', asn: 9009, asOrganization: 'M247 Europe SRL' }, client: { timezone: 'Asia/Shanghai', utcOffsetMinutes: 480, acceptLanguage: 'zh-CN' }, surface: 'web' } },
  { name: 'us-aws-api', body: { ip: '198.51.100.80', geo: { country: 'US', regionCode: 'VA', asn: 16509, asOrganization: 'Amazon.com' }, surface: 'api' } },
  { name: 'us-aws-web', body: { ip: '198.51.100.81', geo: { country: 'US', regionCode: 'VA', asn: 16509 }, client: { timezone: 'America/New_York', acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'us-digitalocean-web', body: { ip: '198.51.100.82', geo: { country: 'US', asn: 14061, asOrganization: 'DigitalOcean' }, client: { timezone: 'Europe/Moscow', acceptLanguage: 'ru-RU,ru;q=0.9' }, surface: 'web' } },
  { name: 'us-ipv6-clean', body: { ip: '2001:db8:85a3::8a2e:370:7334', geo: { country: 'US', timezone: 'America/Denver', asn: 7922 }, client: { timezone: 'America/Denver', utcOffsetMinutes: -420, acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'us-clock-skew-70min', body: { ip: '203.0.113.17', geo: { country: 'US', asn: 7922 }, client: { timezone: 'America/New_York', clock: '2026-11-26T08:10:00-05:00' }, surface: 'web' } },
  { name: 'us-clock-last-year', body: { ip: '203.0.113.18', geo: { country: 'US', asn: 7922 }, client: { timezone: 'America/Phoenix', clock: '2025-06-01T00:00:00Z' }, surface: 'web' } },
  { name: 'us-requestid', body: { requestId: 'req_01JQ7Z9K3M4N5P6Q7R8S9T0V1W', ip: '203.0.113.19', geo: { country: 'US', asn: 7922 }, client: { timezone: 'America/New_York' }, surface: 'web' } },
  { name: 'us-account-owner-cn', body: { ip: '203.0.113.20', geo: { country: 'US', asn: 701 }, client: { timezone: 'America/New_York' }, account: { id: 'acct_123', orgId: 'org_9', ownerCountry: 'CN' }, surface: 'api' } },
  { name: 'us-account-owner-us', body: { ip: '203.0.113.21', geo: { country: 'US', asn: 701 }, account: { id: 'acct_456', ownerCountry: 'us' }, surface: 'api' } },
  // Japan.
  { name: 'jp-kddi-tokyo', body: { ip: '198.51.100.100', geo: { country: 'JP', regionCode: '13', timezone: 'Asia/Tokyo', asn: 2516 }, client: { timezone: 'Asia/Tokyo', utcOffsetMinutes: 540, acceptLanguage: 'ja-JP,ja;q=0.9,en-US;q=0.8', userAgent: SAFARI, clock: '2026-11-26T21:00:03+09:00' }, surface: 'web' } },
  { name: 'jp-alias-japan', body: { ip: '198.51.100.101', geo: { country: 'JP', asn: 2516 }, client: { timezone: 'Japan', acceptLanguage: 'ja' }, surface: 'web' } },
  { name: 'jp-ipv6-api', body: { ip: '2001:db8:1::42', geo: { country: 'JP', asn: 2516 }, client: { utcOffsetMinutes: 540 }, surface: 'api' } },
  // Germany and the Netherlands.
  { name: 'de-telekom-berlin', body: { ip: '192.0.2.10', geo: { country: 'DE', regionCode: 'BE', timezone: 'Europe/Berlin', asn: 3320 }, client: { timezone: 'Europe/Berlin', utcOffsetMinutes: 60, acceptLanguage: 'de-DE,de;q=0.9,en;q=0.7', userAgent: CHROME }, surface: 'web' } },
  { name: 'de-vpn-moscow-client', body: { ip: '192.0.2.11', geo: { country: 'DE', asn: 209854, asOrganization: 'Surfshark' }, client: { timezone: 'Europe/Moscow', utcOffsetMinutes: 180, acceptLanguage: 'ru-RU,ru;q=0.9,en-US;q=0.8' }, surface: 'web' } },
  { name: 'de-hetzner-api', body: { ip: '192.0.2.12', geo: { country: 'DE', asn: 24940, asOrganization: 'Hetzner Online GmbH' }, client: { userAgent: SDK }, surface: 'api' } },
  { name: 'de-client-europe-kiev', body: { ip: '192.0.2.13', geo: { country: 'DE', asn: 3320 }, client: { timezone: 'Europe/Kiev', utcOffsetMinutes: 120, acceptLanguage: 'uk-UA,uk;q=0.9' }, surface: 'web' } },
  { name: 'nl-digitalocean-web', body: { ip: '192.0.2.14', geo: { country: 'NL', timezone: 'Europe/Amsterdam', asn: 14061 }, client: { timezone: 'Europe/Amsterdam', acceptLanguage: 'nl-NL' }, surface: 'web' } },
  // Singapore: same offset as China, so only the zone's country tells them apart.
  { name: 'sg-singtel', body: { ip: '198.51.100.120', geo: { country: 'SG', timezone: 'Asia/Singapore', asn: 7473 }, client: { timezone: 'Asia/Singapore', utcOffsetMinutes: 480, acceptLanguage: 'en-SG,zh-SG;q=0.8' }, surface: 'web' } },
  { name: 'sg-client-shanghai', body: { ip: '198.51.100.121', geo: { country: 'SG', timezone: 'Asia/Singapore', asn: 7473 }, client: { timezone: 'Asia/Shanghai', utcOffsetMinutes: 480, acceptLanguage: 'zh-Hans-CN,zh;q=0.9' }, surface: 'web' } },
  { name: 'sg-vpn-212238', body: { ip: '2001:db8:2::7', geo: { country: 'SG', asn: 212238 }, client: { timezone: 'Asia/Singapore' }, surface: 'web' } },
  // Brazil and the rest of the Americas.
  { name: 'br-claro-saopaulo', body: { ip: '203.0.113.130', geo: { country: 'BR', regionCode: 'SP', timezone: 'America/Sao_Paulo', asn: 28573 }, client: { timezone: 'America/Sao_Paulo', utcOffsetMinutes: -180, acceptLanguage: 'pt-BR,pt;q=0.9,en;q=0.6' }, surface: 'web' } },
  { name: 'br-manaus', body: { ip: '203.0.113.131', geo: { country: 'BR', asn: 28573 }, client: { timezone: 'America/Manaus', utcOffsetMinutes: -240 }, surface: 'web' } },
  { name: 'mx-cdmx', body: { ip: '203.0.113.132', geo: { country: 'MX', timezone: 'America/Mexico_City', asn: 8151 }, client: { timezone: 'America/Mexico_City', utcOffsetMinutes: -360, acceptLanguage: 'es-MX,es;q=0.9' }, surface: 'web' } },
  { name: 'ca-toronto-fr', body: { ip: '203.0.113.133', geo: { country: 'CA', regionCode: 'ON', asn: 812 }, client: { timezone: 'America/Toronto', acceptLanguage: 'fr-CA,fr;q=0.9,en-CA;q=0.8' }, surface: 'web' } },
  { name: 'ar-buenos-aires', body: { ip: '203.0.113.134', geo: { country: 'AR', asn: 7303 }, client: { timezone: 'America/Buenos_Aires', utcOffsetMinutes: -180, acceptLanguage: 'es-AR' }, surface: 'web' } },
  { name: 'cu-havana', body: { ip: '203.0.113.135', geo: { country: 'CU', asn: 27725 }, client: { timezone: 'America/Havana', acceptLanguage: 'es-CU' }, surface: 'web' } },
  // Restricted countries and regions.
  { name: 'cn-chinanet', body: { ip: '192.0.2.50', geo: { country: 'CN', regionCode: 'GD', timezone: 'Asia/Shanghai', asn: 4134 }, client: { timezone: 'Asia/Shanghai', utcOffsetMinutes: 480, acceptLanguage: 'zh-CN,zh;q=0.9' }, surface: 'web' } },
  { name: 'hk-pccw', body: { ip: '192.0.2.51', geo: { country: 'HK', timezone: 'Asia/Hong_Kong', asn: 4760 }, client: { timezone: 'Asia/Hong_Kong', acceptLanguage: 'zh-HK' }, surface: 'api' } },
  { name: 'ru-rostelecom', body: { ip: '192.0.2.52', geo: { country: 'RU', timezone: 'Europe/Moscow', asn: 12389 }, client: { timezone: 'Europe/Moscow', utcOffsetMinutes: 180, acceptLanguage: 'ru-RU' }, surface: 'web' } },
  { name: 'ir-tehran', body: { ip: '192.0.2.53', geo: { country: 'IR', asn: 58224 }, client: { timezone: 'Asia/Tehran', utcOffsetMinutes: 210, acceptLanguage: 'fa-IR,fa;q=0.9' }, surface: 'web' } },
  { name: 'ua-crimea-43', body: { ip: '192.0.2.54', geo: { country: 'UA', regionCode: '43', timezone: 'Europe/Simferopol', asn: 201776 }, client: { timezone: 'Europe/Simferopol', utcOffsetMinutes: 180 }, surface: 'web' } },
  { name: 'ua-donetsk-full-code', body: { ip: '192.0.2.55', geo: { country: 'UA', regionCode: 'UA-14', asn: 15895 }, client: { timezone: 'Europe/Kyiv' }, surface: 'web' } },
  { name: 'ua-kyiv-clean', body: { ip: '192.0.2.56', geo: { country: 'UA', regionCode: '30', timezone: 'Europe/Kyiv', asn: 15895 }, client: { timezone: 'Europe/Kiev', utcOffsetMinutes: 120, acceptLanguage: 'uk-UA,uk;q=0.9,en;q=0.5' }, surface: 'web' } },
  { name: 'pl-client-simferopol', body: { ip: '192.0.2.57', geo: { country: 'PL', asn: 5617 }, client: { timezone: 'Europe/Simferopol', utcOffsetMinutes: 180 }, surface: 'web' } },
  // Tor and missing geo.
  { name: 'tor-t1', body: { ip: '192.0.2.60', geo: { country: 'T1' }, surface: 'web' } },
  { name: 'tor-t1-berlin-client', body: { ip: '192.0.2.61', geo: { country: 'T1', asn: 24940 }, client: { timezone: 'Europe/Berlin', utcOffsetMinutes: 60, acceptLanguage: 'de-DE' }, surface: 'web' } },
  { name: 'no-geo-client-only', body: { client: { timezone: 'America/New_York', utcOffsetMinutes: -300, acceptLanguage: 'en-US' }, surface: 'web' } },
  { name: 'geo-xx-unknown', body: { ip: '192.0.2.62', geo: { country: 'XX', asn: 7922 }, client: { timezone: 'Europe/London' }, surface: 'web' } },
  { name: 'no-geo-vpn-asn-only', body: { ip: '2001:db8:3::1', geo: { asn: 9009 }, client: { timezone: 'Asia/Shanghai' }, surface: 'api' } },
  { name: 'empty-request', body: {} },
  // Asia-Pacific, Europe, Africa: zone aliases, half-hour and DST offsets.
  { name: 'in-kolkata', body: { ip: '203.0.113.140', geo: { country: 'IN', timezone: 'Asia/Kolkata', asn: 55836 }, client: { timezone: 'Asia/Calcutta', utcOffsetMinutes: 330, acceptLanguage: 'en-IN,hi;q=0.9' }, surface: 'web' } },
  { name: 'in-nepal-offset', body: { ip: '203.0.113.141', geo: { country: 'IN', asn: 55836 }, client: { utcOffsetMinutes: 345, clock: '2026-11-26T17:45:30+05:45' }, surface: 'web' } },
  { name: 'au-sydney-dst', body: { ip: '203.0.113.142', geo: { country: 'AU', regionCode: 'NSW', timezone: 'Australia/Sydney', asn: 1221 }, client: { timezone: 'Australia/Sydney', utcOffsetMinutes: 660, acceptLanguage: 'en-AU' }, surface: 'web' } },
  { name: 'nz-auckland', body: { ip: '203.0.113.143', geo: { country: 'NZ', asn: 9500 }, client: { timezone: 'Pacific/Auckland', utcOffsetMinutes: 780 }, surface: 'web' } },
  { name: 'kr-seoul', body: { ip: '203.0.113.144', geo: { country: 'KR', timezone: 'Asia/Seoul', asn: 4766 }, client: { timezone: 'Asia/Seoul', acceptLanguage: 'ko-KR,ko;q=0.9' }, surface: 'web' } },
  { name: 'gb-london-utc-clock', body: { ip: '203.0.113.145', geo: { country: 'GB', timezone: 'Europe/London', asn: 2856 }, client: { timezone: 'Europe/London', utcOffsetMinutes: 0, acceptLanguage: 'en-GB', clock: '2026-11-26T12:00:40Z' }, surface: 'web' } },
  { name: 'fr-paris-wrong-offset', body: { ip: '203.0.113.146', geo: { country: 'FR', asn: 3215 }, client: { timezone: 'Europe/Paris', utcOffsetMinutes: -300, acceptLanguage: 'fr-FR' }, surface: 'web' } },
  { name: 'es-madrid-skewed', body: { ip: '203.0.113.147', geo: { country: 'ES', asn: 3352 }, client: { timezone: 'Europe/Madrid', utcOffsetMinutes: 60, clock: '2026-11-26T12:50:00+01:00' }, surface: 'web' } },
  { name: 'za-johannesburg', body: { ip: '203.0.113.148', geo: { country: 'ZA', asn: 5713 }, client: { timezone: 'Africa/Johannesburg', acceptLanguage: 'en-ZA,af;q=0.8' }, surface: 'web' } },
  { name: 'etc-utc-client', body: { ip: '2001:db8:4::9', geo: { country: 'DE', asn: 3320 }, client: { timezone: 'Etc/UTC', utcOffsetMinutes: 0 }, surface: 'api' } },
  { name: 'etc-gmt-plus5', body: { ip: '2001:db8:5::9', geo: { country: 'US', asn: 7922 }, client: { timezone: 'Etc/GMT+5' }, surface: 'web' } },
  // Accept-Language edge cases.
  { name: 'lang-q0-ru', body: { ip: '203.0.113.150', geo: { country: 'FI', asn: 719 }, client: { acceptLanguage: 'ru-RU;q=0, fi-FI, en;q=0.5' }, surface: 'web' } },
  { name: 'lang-garbled', body: { ip: '203.0.113.151', geo: { country: 'IT', asn: 3269 }, client: { acceptLanguage: '*;;;,xx_YY,,it-IT;q=abc,  ' }, surface: 'web' } },
  { name: 'lang-long-list', body: { ip: '203.0.113.152', geo: { country: 'CH', asn: 3303 }, client: { timezone: 'Europe/Zurich', acceptLanguage: 'de-CH,de;q=0.9,fr-CH;q=0.8,fr;q=0.7,it-CH;q=0.6,it;q=0.5,en-US;q=0.4,en;q=0.3,rm;q=0.2,zh-TW;q=0.1' }, surface: 'web' } },
  // Geo taken from request.cf (engine only; see the note above CASES).
  { name: 'cf-geo-us', body: { ip: '203.0.113.160', client: { timezone: 'America/Chicago', utcOffsetMinutes: -360 }, surface: 'web' }, cf: { country: 'US', regionCode: 'TX', timezone: 'America/Chicago', asn: 7018 } },
  { name: 'cf-geo-ru-forwarded-de', body: { ip: '203.0.113.161', geo: { country: 'DE', asn: 3320 }, client: { timezone: 'Europe/Moscow' }, surface: 'web' }, cf: { country: 'RU', timezone: 'Europe/Moscow', asn: 12389 } },
];
