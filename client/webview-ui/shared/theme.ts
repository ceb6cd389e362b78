// The editor's theme in a webview: VS Code sets `--vscode-*` CSS variables and a body class
// (vscode-light, vscode-dark, vscode-high-contrast[-light]) and changes both when the theme
// changes. The style sheet uses the variables directly; charts and canvases, which need colours
// as values, read them here and redraw when the theme changes.

export type ThemeKind = 'light' | 'dark' | 'highContrast' | 'highContrastLight';

export function themeKind(): ThemeKind {
  const classes = document.body.classList;
  if (classes.contains('vscode-high-contrast-light')) return 'highContrastLight';
  if (classes.contains('vscode-high-contrast')) return 'highContrast';
  return classes.contains('vscode-light') ? 'light' : 'dark';
}

/** A theme colour by its variable name without the prefix, e.g. "charts-blue"; `fallback` where the theme has none. */
export function themeColor(name: string, fallback: string): string {
  const value = getComputedStyle(document.body).getPropertyValue(`--vscode-${name}`).trim();
  return value === '' ? fallback : value;
}

export interface ChartColors {
  foreground: string;
  grid: string;
  series: string[];
  font: string;
}

export function chartColors(): ChartColors {
  const fontFamily = themeColor('font-family', 'sans-serif');
  const fontSize = themeColor('font-size', '12px');
  return {
    foreground: themeColor('foreground', '#888'),
    grid: themeColor('editorWidget-border', themeColor('panel-border', '#8884')),
    series: [
      themeColor('charts-blue', '#3794ff'),
      themeColor('charts-orange', '#d18616'),
      themeColor('charts-green', '#89d185'),
      themeColor('charts-red', '#f14c4c'),
      themeColor('charts-purple', '#b180d7'),
      themeColor('charts-yellow', '#cca700'),
    ],
    font: `${fontSize} ${fontFamily}`,
  };
}

/** Calls `changed` after every theme change (the body's class changes with it). */
export function onThemeChange(changed: () => void): void {
  let last = `${document.body.className}`;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    changed();
  }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
