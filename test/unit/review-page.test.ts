import { describe, expect, it } from 'vitest';
import { CATALOGUE_CODES, LANGUAGES, REASON_CATALOGUE } from '../../src/domain/reason-catalogue.js';
import { pickLanguage, reviewPage } from '../../src/http/review-page.js';

describe('the review page language', () => {
  it('?lang= wins over the browser', () => {
    expect(pickLanguage('kk', 'en-US,en;q=0.9')).toBe('kk');
    expect(pickLanguage('en', 'ru')).toBe('en');
  });
  it('else the first Accept-Language range it speaks, by weight', () => {
    expect(pickLanguage(undefined, 'kk-KZ,kk;q=0.9,ru;q=0.8')).toBe('kk');
    expect(pickLanguage(undefined, 'de-DE,en;q=0.5,ru;q=0.7')).toBe('ru');
    expect(pickLanguage(undefined, 'en-GB;q=0.8, kk;q=0.9')).toBe('kk');
    expect(pickLanguage(undefined, 'ru;q=0, en')).toBe('en');
  });
  it('else Russian (an unknown ?lang= is ignored)', () => {
    expect(pickLanguage(undefined, undefined)).toBe('ru');
    expect(pickLanguage('fr', 'de')).toBe('ru');
    expect(pickLanguage(['en'], undefined)).toBe('ru');
  });

  it('each page is in its language and carries every reason text of the catalogue', () => {
    const headings = { ru: 'очередь ручной проверки', kk: 'қолмен тексеру кезегі', en: 'review queue' };
    for (const language of LANGUAGES) {
      const page = reviewPage(language);
      expect(page).toContain(`<html lang="${language}">`);
      expect(page).toContain(headings[language]);
      for (const code of CATALOGUE_CODES)
        expect(page, code).toContain(JSON.stringify(REASON_CATALOGUE[code][language]));
      // The switch to the two other languages.
      for (const other of LANGUAGES.filter((l) => l !== language))
        expect(page).toContain(`href="?lang=${other}"`);
    }
  });
});
