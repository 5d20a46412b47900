import net from 'node:net';

/** SRT receive latency offered to the phone and to OBS. */
export const SRT_LATENCY_MS = 2000;

function hostPart(ip: string): string {
  return net.isIPv6(ip) ? `[${ip}]` : ip;
}

/** What the phone/encoder pastes: libsrt URI options, where `latency` is in milliseconds. */
export function ingestSrtUrl(ip: string, port: number, passphrase: string): string {
  return `srt://${hostPart(ip)}:${port}?mode=caller&passphrase=${passphrase}&latency=${SRT_LATENCY_MS}`;
}

/**
 * What a bonding sender pastes: the same passphrase and latency as the SRT URL, since SRTLA carries
 * that SRT stream unchanged to the same listener.
 */
export function ingestSrtlaUrl(ip: string, port: number, passphrase: string): string {
  return `srtla://${hostPart(ip)}:${port}?passphrase=${passphrase}&latency=${SRT_LATENCY_MS}`;
}

/** What the OBS media source (ffmpeg's SRT input) opens: ffmpeg reads `latency` in microseconds. */
export function obsSourceUrl(ip: string, port: number, passphrase: string): string {
  return `srt://${hostPart(ip)}:${port}?mode=caller&passphrase=${passphrase}&latency=${SRT_LATENCY_MS * 1000}`;
}

export function telemetryWsUrl(ip: string, port: number): string {
  return `ws://${hostPart(ip)}:${port}/telemetry`;
}

/** Hides the host part of a link's source address in client responses. */
export function maskIp(ip: string | null): string | null {
  if (!ip) return ip;
  if (net.isIPv4(ip)) return `${ip.split('.').slice(0, 3).join('.')}.x`;
  if (net.isIPv6(ip)) return `${ip.split(':').slice(0, 3).join(':')}::x`;
  return 'x';
}
