import { describe, expect, it } from 'vitest';
import { DirectoryIndex, type IndexEntry } from '../../src/runtime/directory-index.js';

const entry = (key: string, fileBytes: number, servedAt: number): IndexEntry => ({ key, fileBytes, servedAt, mtimeMs: servedAt });
const keys = (index: DirectoryIndex, maxBytes = Infinity, oldest = -Infinity) => index.takeEvictions(maxBytes, oldest).map(({ entry: e, reason }) => `${e.key}:${reason}`);

describe('directory index', () => {
  it('counts bytes and entries, and replacing an entry does not count it twice', () => {
    const index = new DirectoryIndex();
    index.add(entry('default/1', 100, 1));
    index.add(entry('default/2', 50, 2));
    index.add(entry('default/1', 70, 3));
    expect(index.bytes).toBe(120);
    expect(index.size).toBe(2);
    index.remove('default/2');
    index.remove('default/absent');
    expect(index.bytes).toBe(70);
    expect(index.size).toBe(1);
  });

  it('evicts the least recently served first, until the byte bound holds', () => {
    const index = new DirectoryIndex();
    index.add(entry('default/1', 100, 1));
    index.add(entry('default/2', 100, 2));
    index.add(entry('default/3', 100, 3));
    expect(keys(index, 150)).toEqual(['default/1:size', 'default/2:size']);
    expect(index.bytes).toBe(100);
    expect(index.get('default/3')).toBeDefined();
  });

  it('a served entry moves to the back of the eviction order, and its time never goes back', () => {
    const index = new DirectoryIndex();
    index.add(entry('default/1', 100, 10));
    index.add(entry('default/2', 100, 20));
    index.touch('default/1', 30);
    expect(index.touch('default/absent', 30)).toBeUndefined();
    expect(keys(index, 100)).toEqual(['default/2:size']);
    index.touch('default/1', 5);
    expect(index.get('default/1')?.servedAt).toBe(30);
  });

  it('evicts by age everything last served before the limit, and stops at the first young one', () => {
    const index = new DirectoryIndex();
    index.add(entry('default/1', 10, 100));
    index.add(entry('default/2', 10, 200));
    index.add(entry('default/3', 10, 300));
    expect(keys(index, Infinity, 250)).toEqual(['default/1:age', 'default/2:age']);
    expect(keys(index, Infinity, 250)).toEqual([]);
    expect(index.size).toBe(1);
  });

  it('a rescan rebuilds the order from the files (oldest first) and keeps what this process knew', () => {
    const index = new DirectoryIndex();
    const meta = { id: '2', mimeType: 'image/png', sha256: 'a'.repeat(64), size: 90 };
    index.add({ key: 'default/2', fileBytes: 100, servedAt: 500, mtimeMs: 500, meta });
    index.add(entry('default/gone', 100, 600));
    index.add(entry('default/regrown', 100, 900));
    // On disk: 2 with an older mtime than this process saw it served, a file another process wrote,
    // and one whose size changed (rewritten by another process): what this process knew of it is stale.
    index.replace([entry('default/2', 100, 100), entry('default/other', 30, 200), entry('default/regrown', 120, 50)]);
    expect(index.size).toBe(3);
    expect(index.bytes).toBe(250);
    expect(index.get('default/gone')).toBeUndefined();
    expect(index.get('default/2')).toMatchObject({ servedAt: 500, meta });
    expect(index.get('default/regrown')).toEqual(entry('default/regrown', 120, 50));
    expect(keys(index, 0)).toEqual(['default/regrown:size', 'default/other:size', 'default/2:size']);
  });
});
