// Redis URLs as users write them for managed and local Redis: passwords with or without a user
// (ACL), percent-encoded characters, TLS (rediss://), and REDIS_PASSWORD for a password kept out
// of the URL. (The basic shapes are in jobs.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redisConnectionFromUrl } from '../src/index.ts';

describe('redisConnectionFromUrl: credentials and TLS', () => {
  it('takes a password without a user (requirepass) and one with a user (ACL)', () => {
    const bare = redisConnectionFromUrl('redis://:s3cret@10.0.0.5:6380/2', {});
    assert.equal(bare.password, 's3cret');
    assert.equal(bare.username, undefined);
    assert.deepEqual([bare.host, bare.port, bare.db], ['10.0.0.5', 6380, 2]);
    const acl = redisConnectionFromUrl('redis://pmamba:s3cret@h', {});
    assert.deepEqual([acl.username, acl.password], ['pmamba', 's3cret']);
  });

  it('decodes percent-encoded users and passwords, and keeps an unencoded @ in the password', () => {
    const c = redisConnectionFromUrl('rediss://us%3Aer:p%2Fa%3As%23s@cache.example.com:6380', {});
    assert.deepEqual([c.username, c.password], ['us:er', 'p/a:s#s']);
    // URL parsers split at the last '@' before the host.
    assert.equal(redisConnectionFromUrl('redis://:p@ss@h', {}).password, 'p@ss');
  });

  it('turns TLS on for rediss:// only, naming the host for SNI and certificate checks', () => {
    const tls = redisConnectionFromUrl('rediss://default:pw@my-redis.example.net:25061/0', {});
    assert.deepEqual(tls.tls, { servername: 'my-redis.example.net' });
    assert.equal(tls.port, 25061);
    assert.equal(redisConnectionFromUrl('redis://my-redis.example.net', {}).tls, undefined);
    assert.equal(redisConnectionFromUrl('REDISS://Cache.Example', {}).tls?.servername, 'Cache.Example'); // scheme case does not matter
  });

  it('takes REDIS_PASSWORD when the URL has none; a password in the URL wins', () => {
    const fromEnv = redisConnectionFromUrl('rediss://user@h', { REDIS_PASSWORD: 'env-pw' });
    assert.deepEqual([fromEnv.username, fromEnv.password, fromEnv.tls?.servername], ['user', 'env-pw', 'h']);
    assert.equal(redisConnectionFromUrl('redis://:url-pw@h', { REDIS_PASSWORD: 'env-pw' }).password, 'url-pw');
    assert.equal('password' in redisConnectionFromUrl('redis://h', {}), false);
  });

  it('keeps maxRetriesPerRequest null, as BullMQ workers need', () => {
    assert.equal(redisConnectionFromUrl('rediss://:pw@h', {}).maxRetriesPerRequest, null);
  });

  it('masks the whole password in its errors, an unencoded @ in it too', () => {
    assert.throws(() => redisConnectionFromUrl('redis://:p@ss@h:notaport', {}), (err: Error) => {
      assert.doesNotMatch(err.message, /p@ss|ss@/);
      assert.match(err.message, /redis:\/\/\*\*\*@h:notaport/);
      return true;
    });
  });
});
