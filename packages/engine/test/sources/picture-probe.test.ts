import { describe, expect, it } from 'vitest';
import {
  NEW_TRACK,
  PICTURE_MOVING_MS,
  PICTURE_STEADY_MS,
  PictureProbe,
  type PictureTrack,
  pictureVerdict,
  trackPicture,
} from '../../src/sources/picture-probe.js';

/** Feeds looks every 100 ms from `t0`: 'x' a shot equal to the one before, 'n' a new one, '-' no picture. */
function replay(pattern: string, t0 = 0, from: PictureTrack = NEW_TRACK): { track: PictureTrack; t: number } {
  let track = from;
  let t = t0;
  let frame = 0;
  for (const c of pattern) {
    if (c === '-') track = trackPicture(track, { noPicture: true }, t);
    else {
      if (c === 'n') frame += 1;
      track = trackPicture(track, { shot: `frame-${t0}-${frame}` }, t);
    }
    t += 100;
  }
  return { track, t: t - 100 };
}

describe('the picture rule', () => {
  it('after no picture, new frames count once they moved for 0.8 s', () => {
    const before = replay('----nnnnnnnn');
    expect(pictureVerdict('Relay', before.track, before.t)).toMatchObject({ playing: false });
    const after = replay('----nnnnnnnnnn');
    expect(after.track.armed).toBe(true);
    expect(pictureVerdict('Relay', after.track, after.t)).toMatchObject({
      playing: true,
      detail: 'new frames',
    });
    expect(PICTURE_STEADY_MS).toBe(800);
  });

  it("the previous stream's tail, then stillness, then the new stream: only the new one counts", () => {
    // 0.6 s of leftover frames right after the phone died, a frozen frame, then the new stream.
    const tail = replay('nnnnnn');
    expect(pictureVerdict('Relay', tail.track, tail.t)).toMatchObject({ playing: false });
    const frozen = replay('xxxxxx', tail.t + 100, tail.track);
    expect(frozen.track).toMatchObject({ armed: true, movingSince: null });
    const fresh = replay('nnnnnnnnnn', frozen.t + 100, frozen.track);
    expect(pictureVerdict('Relay', fresh.track, fresh.t)).toMatchObject({ playing: true });
  });

  it('one duplicated frame is tolerated, two in a row restart the count', () => {
    const dup = replay('-nnnnxnnnnn');
    expect(pictureVerdict('Relay', dup.track, dup.t)).toMatchObject({ playing: true });
    const stall = replay('-nnnnxxnnnnn');
    expect(pictureVerdict('Relay', stall.track, stall.t)).toMatchObject({ playing: false });
  });

  it('without stillness seen, only a picture moving longer than any leftover tail counts', () => {
    const short = replay('n'.repeat(15));
    expect(pictureVerdict('Relay', short.track, short.t)).toMatchObject({ playing: false });
    const long = replay('n'.repeat(PICTURE_MOVING_MS / 100 + 2));
    expect(pictureVerdict('Relay', long.track, long.t)).toMatchObject({ playing: true });
  });

  it('a still picture never counts', () => {
    const still = replay(`-${'x'.repeat(60)}`);
    expect(pictureVerdict('Relay', still.track, still.t)).toMatchObject({
      playing: false,
      detail: 'the picture is still',
    });
  });
});

describe('PictureProbe', () => {
  it('asks OBS for a 32 px PNG; "no picture" arms, an input OBS lacks turns the gate off', async () => {
    let t = 0;
    const asked: unknown[] = [];
    let answer: () => { imageData: string } = () => {
      throw Object.assign(new Error('Failed to render screenshot.'), { code: 702 });
    };
    const probe = new PictureProbe(
      {
        call: async (_type, data) => {
          asked.push(data);
          return answer();
        },
      },
      () => t,
    );
    await probe.look();
    expect(asked).toEqual([]);
    probe.watch('Telemy Relay');
    await probe.look();
    expect(asked[0]).toEqual({ sourceName: 'Telemy Relay', imageFormat: 'png', imageWidth: 32 });
    expect(probe.current()).toMatchObject({ playing: false, detail: 'no picture yet' });
    for (let i = 1; i <= 10; i++) {
      t += 100;
      answer = () => ({ imageData: `frame-${i}` });
      await probe.look();
    }
    expect(probe.current()).toMatchObject({ input: 'Telemy Relay', playing: true });
    answer = () => {
      throw Object.assign(new Error('No source was found by the name of Telemy Relay'), { code: 600 });
    };
    await probe.look();
    expect(probe.current()).toBeNull();
  });
});
