// Redis URLs as users write them for managed and local Redis: passwords with or without a user
// (ACL), percent-encoded characters, TLS (rediss://), and REDIS_PASSWORD for a password kept out
// of the URL. (The basic shapes are in jobs.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError, checkClusterPrefix, isClusterUrl, parseRedisUrl, prefixHashTag, redisConnectionFromUrl, type RedisClusterConnectionOptions } from '../src/index.ts';

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

describe('parseRedisUrl: Redis Cluster URLs', () => {
  const cluster = (url: string, env: Record<string, string> = {}): RedisClusterConnectionOptions => {
    const parsed = parseRedisUrl(url, env);
    assert.ok(isClusterUrl(parsed), `${url} is a cluster URL`);
    return parsed;
  };

  it('lists the startup nodes in order, with the default port where none is given', () => {
    assert.deepEqual(cluster('redis+cluster://10.0.0.1:7000,10.0.0.2,node-3.example:7002'), {
      cluster: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: 'node-3.example', port: 7002 },
      ],
      maxRetriesPerRequest: null,
    });
    assert.deepEqual(cluster('redis+cluster://one:7000/').nodes, [{ host: 'one', port: 7000 }]);
    assert.deepEqual(cluster('redis+cluster://[::1]:7000,[fe80::2]').nodes, [{ host: '::1', port: 7000 }, { host: 'fe80::2', port: 6379 }]);
  });

  it('takes user and password (%-decoded, an unencoded @ kept) or REDIS_PASSWORD, for every node', () => {
    const acl = cluster('redis+cluster://pm%3Aa:p%2Fw%40d@h1:7000,h2:7000');
    assert.deepEqual([acl.username, acl.password], ['pm:a', 'p/w@d']);
    assert.equal(cluster('redis+cluster://:p@ss@h1,h2').password, 'p@ss');
    assert.equal(cluster('redis+cluster://h1', { REDIS_PASSWORD: 'env-pw' }).password, 'env-pw');
    assert.equal(cluster('redis+cluster://:url-pw@h1', { REDIS_PASSWORD: 'env-pw' }).password, 'url-pw');
    assert.equal('password' in cluster('redis+cluster://h1'), false);
  });

  it('turns TLS on for rediss+cluster:// (no fixed servername: each node is checked by its own name); schemes in any case', () => {
    assert.deepEqual(cluster('rediss+cluster://:pw@a.example:6380,b.example:6380').tls, {});
    assert.equal(cluster('redis+cluster://a:1').tls, undefined);
    assert.deepEqual(cluster('REDISS+CLUSTER://A:1').tls, {});
  });

  it('leaves single-node URLs as they were', () => {
    const one = parseRedisUrl('redis://:pw@h:6380/2', {});
    assert.equal(isClusterUrl(one), false);
    assert.deepEqual(one, redisConnectionFromUrl('redis://:pw@h:6380/2', {}));
  });

  it('rejects malformed cluster URLs with E_REDIS_URL, without echoing the password', () => {
    const bad = [
      'redis+cluster://',
      'redis+cluster://u:secret@',
      'redis+cluster://h1:7000,,h2:7000',
      'redis+cluster://h1:7000,',
      'redis+cluster://h1:70000',
      'redis+cluster://h1:0',
      'redis+cluster://h1:port',
      'redis+cluster://h1:7000/1',
      'redis+cluster://u:secret@h1:7000/0',
      'redis+cluster://h1:7000?db=1',
      'redis+cluster://h 1:7000',
      'redis+cluster://[::1:7000',
      'redis+cluster://u:%E0%A4%A@h1',
      'redis-cluster://h1:7000',
    ];
    for (const url of bad) {
      assert.throws(() => parseRedisUrl(url, {}), (err: ProtocolError) => {
        assert.equal(err.code, 'E_REDIS_URL', `${url}: ${err.message}`);
        assert.ok(!err.message.includes('secret'), err.message);
        assert.match(err.message, /redis\+cluster:\/\/\[user:password@\]host\[:port\]\[,host\[:port\]…\]/);
        return true;
      });
    }
  });

  it('is refused where one node is expected', () => {
    assert.throws(() => redisConnectionFromUrl('redis+cluster://h1:7000', {}), (err: ProtocolError) => {
      assert.equal(err.code, 'E_REDIS_URL');
      assert.match(err.message, /takes a single Redis node, not a Redis Cluster/);
      return true;
    });
  });
});

describe('hash-tagged prefixes', () => {
  it('finds the tag as Redis Cluster does: the first {…} that is not empty', () => {
    assert.equal(prefixHashTag('{pmamba}'), 'pmamba');
    assert.equal(prefixHashTag('team.{pm}-1'), 'pm');
    assert.equal(prefixHashTag('pmamba'), undefined);
    assert.equal(prefixHashTag('{}pmamba'), undefined);
    assert.equal(prefixHashTag('pm{amba'), undefined);
  });

  it('E_REDIS_PREFIX for an untagged prefix, with the tagged one to use', () => {
    checkClusterPrefix('{pmamba}');
    assert.throws(() => checkClusterPrefix('pmamba'), (err: ProtocolError) => {
      assert.equal(err.code, 'E_REDIS_PREFIX');
      assert.match(err.message, /--prefix '\{pmamba\}'/);
      return true;
    });
    assert.throws(() => checkClusterPrefix('pmamba-staging'), /--prefix '\{pmamba-staging\}'/);
  });
});
