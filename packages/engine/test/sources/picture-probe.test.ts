import { describe, expect, it } from 'vitest';
import { judgePicture, PictureProbe, readMediaStatus } from '../../src/sources/picture-probe.js';

const playing = (cursorMs: number | null) => ({ state: 'playing', cursorMs });

describe('judgePicture', () => {
  it('PLAYING is not enough: the cursor must have moved since the last look', () => {
    expect(judgePicture('Phone', null, playing(1200))).toMatchObject({
      playing: false,
      detail: 'checking for new frames',
    });
    expect(judgePicture('Phone', playing(1200), playing(1200))).toMatchObject({
      playing: false,
      detail: 'no new frames yet',
    });
    expect(judgePicture('Phone', playing(1200), playing(1700))).toEqual({
      input: 'Phone',
      playing: true,
      detail: 'new frames',
    });
  });

  it('no position yet, or not playing, is no picture', () => {
    expect(judgePicture('Phone', playing(null), playing(null))).toMatchObject({ playing: false });
    expect(judgePicture('Phone', playing(100), { state: 'ended', cursorMs: 200 })).toMatchObject({
      playing: false,
      detail: 'media source ended',
    });
  });

  it("reads obs-websocket's GetMediaInputStatus", () => {
    expect(
      readMediaStatus({ mediaState: 'OBS_MEDIA_STATE_PLAYING', mediaCursor: 5120, mediaDuration: null }),
    ).toEqual({
      state: 'playing',
      cursorMs: 5120,
    });
    expect(readMediaStatus({ mediaState: 'OBS_MEDIA_STATE_OPENING', mediaCursor: null })).toEqual({
      state: 'opening',
      cursorMs: null,
    });
  });
});

describe('PictureProbe', () => {
  it('follows the watched input, starts afresh when it changes, and is no gate when OBS has no such input', async () => {
    let cursor = 0;
    const calls: string[] = [];
    const probe = new PictureProbe({
      call: async (_type, { inputName }) => {
        calls.push(inputName);
        if (inputName === 'Missing') throw new Error('No source was found by the name of Missing');
        return { mediaState: 'OBS_MEDIA_STATE_PLAYING', mediaCursor: cursor };
      },
    });
    await probe.look();
    expect(calls).toEqual([]);
    probe.watch('Phone');
    await probe.look();
    expect(probe.current()).toMatchObject({ playing: false });
    cursor = 500;
    await probe.look();
    expect(probe.current()).toMatchObject({ input: 'Phone', playing: true });
    probe.watch('Telemy Relay');
    expect(probe.current()).toBeNull();
    probe.watch('Missing');
    await probe.look();
    expect(probe.current()).toBeNull();
  });
});
