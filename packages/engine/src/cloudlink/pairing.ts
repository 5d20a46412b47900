import QRCode from 'qrcode';
import type { Session } from './api-schemas.js';

/**
 * What the streamer needs to pair a phone and OBS with the relay. Holds secrets
 * (the SRT URLs carry passphrases): shown only on explicit request.
 */
export interface PairingDetails {
  /** Pasted into the phone app: relay ingest with the pair token as passphrase and the latency. */
  srt_url: string;
  /** What a bonding sender (BELABOX, Moblin, IRL Pro) pastes, or null when the relay runs no SRTLA. */
  srtla_url: string | null;
  /** The phone SRT URL as an SVG QR code for the phone camera. */
  qr_svg: string;
  /** What the OBS media source pulls: relay egress with its passphrase. */
  obs_source_url: string;
}

/** True once the control plane has published both URLs (it does so when the relay is known). */
export function pairingAvailable(session: Session | null): boolean {
  return Boolean(session?.ingest.srt_url && session.ingest.obs_source_url);
}

/** Null until the control plane has published the relay's URLs. */
export async function buildPairing(session: Session): Promise<PairingDetails | null> {
  const srtUrl = session.ingest.srt_url;
  const obsUrl = session.ingest.obs_source_url;
  if (!srtUrl || !obsUrl) return null;
  const qrSvg = await QRCode.toString(srtUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return {
    srt_url: srtUrl,
    srtla_url: session.ingest.srtla_url ?? null,
    qr_svg: qrSvg,
    obs_source_url: obsUrl,
  };
}

/** The phone URL as a QR code drawn with terminal characters (`telemy cloud active --qr`). */
export function renderQrForTerminal(url: string): Promise<string> {
  return QRCode.toString(url, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}
