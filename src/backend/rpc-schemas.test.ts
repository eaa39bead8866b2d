import { describe, expect, it } from 'vitest';
import { checkRpcParams } from './rpc-schemas';

describe('settings.update language', () => {
  it('accepts the languages the app offers', () => {
    for (const language of ['system', 'en', 'zh-CN']) expect(() => checkRpcParams('settings.update', { language })).not.toThrow();
  });
  it('rejects any other language value', () => {
    for (const language of ['fr', 'zh', '', 3, null]) expect(() => checkRpcParams('settings.update', { language })).toThrow();
  });
});
