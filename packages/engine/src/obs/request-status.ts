/**
 * obs-websocket answers a failed request with a numeric status and often no comment (a second
 * `StartStream` is just 500). These are the statuses a streamer can meet, in words, so a reply in
 * chat or the dock says what happened instead of a number.
 */
const STATUS_WORDS: Readonly<Record<number, string>> = {
  203: 'the request type is missing',
  204: 'this OBS does not know the request (update obs-websocket)',
  207: 'OBS is not ready yet',
  300: 'a required field is missing',
  400: 'a value is not valid',
  402: 'a value is out of range',
  500: 'the output is already running',
  501: 'the output is not running',
  502: 'the output is paused',
  503: 'the output is not paused',
  504: 'the output is disabled in OBS',
  505: 'studio mode is on',
  506: 'studio mode is off',
  600: 'it does not exist in OBS',
  601: 'it already exists in OBS',
  602: 'it is the wrong kind of source',
  603: 'OBS has not enough resources for it',
  604: 'it is not in a state that allows this',
  605: 'the input kind is not valid',
  606: 'it cannot be configured',
  700: 'OBS could not create it',
  701: 'OBS could not do it',
  702: 'OBS failed while doing it',
  703: 'OBS cannot do that right now',
};

/** OBS's own comment when it gave one, else the status in words. */
export function obsRequestReason(code: number, comment: string): string {
  const said = comment.trim().replace(/\.$/, '');
  if (said) return said;
  return STATUS_WORDS[code] ?? 'OBS gave no reason';
}
