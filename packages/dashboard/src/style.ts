/**
 * The one stylesheet, inlined in every page and allowed by its hash in the
 * Content-Security-Policy: no file to serve, no CDN, no inline style
 * attributes anywhere.
 *
 * @module
 */

export const STYLE = `
:root{--bg:#f6f7f9;--panel:#fff;--text:#1d2330;--muted:#667085;--line:#e4e7ec;--accent:#3b5bdb;
--ready:#1c7ed6;--scheduled:#7048e8;--claimed:#e67700;--finished:#2b8a3e;--failed:#c92a2a;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--text);background:var(--bg)}
*{box-sizing:border-box}
body{margin:0}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
header{background:#1d2330;color:#fff;padding:0 24px;display:flex;align-items:center;gap:24px;height:52px}
header .brand{font-weight:700;font-size:16px;color:#fff}
header nav{display:flex;gap:4px}
header nav a{color:#cfd4dc;padding:6px 12px;border-radius:6px}
header nav a:hover{background:#2c3445;text-decoration:none}
header nav a[aria-current=page]{background:#3a4459;color:#fff}
header .mode{margin-left:auto;font-size:12px;color:#cfd4dc;border:1px solid #4a546a;border-radius:999px;padding:2px 10px}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:20px;margin:0 0 16px}
h2{font-size:15px;margin:24px 0 8px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;overflow:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:9px 14px;border-bottom:1px solid var(--line);vertical-align:middle;white-space:nowrap}
th{font-size:12px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;background:#fafbfc}
tr:last-child td{border-bottom:0}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{white-space:normal;min-width:220px;max-width:380px;overflow-wrap:break-word}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin-bottom:20px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums;margin-top:2px}
.badge{display:inline-block;font-size:12px;font-weight:600;padding:1px 9px;border-radius:999px;border:1px solid currentColor}
.s-ready{color:var(--ready)}.s-scheduled{color:var(--scheduled)}.s-claimed{color:var(--claimed)}
.s-finished{color:var(--finished)}.s-failed{color:var(--failed)}.s-paused{color:var(--claimed)}.s-active{color:var(--finished)}
form.inline{display:inline}
button,.button{font:inherit;font-size:13px;padding:5px 12px;border-radius:6px;border:1px solid var(--line);background:#fff;color:var(--text);cursor:pointer}
button:hover,.button:hover{border-color:#c0c6d0;background:#f2f4f7;text-decoration:none}
button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.primary:hover{background:#3048b8}
button.danger{color:var(--failed);border-color:#f0c4c4}
button.danger:hover{background:#fff5f5}
.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin-bottom:16px}
.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted);gap:3px}
.filters input,.filters select{font:inherit;font-size:13px;padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--text);min-width:120px}
.filters input[type=datetime-local]{min-width:180px}
.filters details{flex-basis:100%}
.filters details summary{margin:0;font-size:13px;color:var(--muted)}
.filters details .row{display:flex;flex-wrap:wrap;gap:10px;margin-top:8px}
td .code{font-size:12px;color:var(--muted)}
.pager{display:flex;gap:12px;justify-content:space-between;align-items:center;margin-top:12px}
.notice{padding:10px 14px;border-radius:8px;margin-bottom:16px;border:1px solid #b2d3f5;background:#eef6fd}
.notice.bad{border-color:#f0c4c4;background:#fff5f5;color:#862020}
.title{display:flex;align-items:center;gap:12px;margin-bottom:16px}
.title h1{margin:0}
.title .actions{margin-left:auto;display:flex;gap:8px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:16px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:0;padding:14px 16px}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
pre{margin:0;padding:14px 16px;font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere;max-height:420px;overflow:auto}
progress{width:180px;height:10px;vertical-align:middle;accent-color:var(--accent)}
.error{padding:12px 16px;border-bottom:1px solid var(--line)}
.error:last-child{border-bottom:0}
.error .head{display:flex;gap:10px;align-items:baseline;font-size:12px;color:var(--muted)}
.error .message{margin-top:4px;color:var(--failed);overflow-wrap:anywhere;white-space:pre-wrap}
details summary{cursor:pointer;font-size:12px;color:var(--muted);margin-top:4px}
details pre{padding:8px 0 0}
.empty{padding:28px;text-align:center;color:var(--muted)}
@media (prefers-color-scheme:dark){
:root{--bg:#12151c;--panel:#1a1e27;--text:#e4e7ec;--muted:#98a2b3;--line:#2c3240;--accent:#7c9cff;
--ready:#4dabf7;--scheduled:#9775fa;--claimed:#ffa94d;--finished:#51cf66;--failed:#ff6b6b}
th{background:#1f2430}
button,.button,.filters input,.filters select{background:#222733;color:var(--text)}
button:hover{background:#2a3040}
.notice{background:#16263a;border-color:#24476d}
.notice.bad{background:#2e1717;border-color:#6d2424;color:#ffc9c9}
button.primary{color:#0c1020}
}
`.trim();

let hash: Promise<string> | undefined;

/** `'sha256-…'` of {@link STYLE}, the CSP source that allows it. */
export function styleHash(): Promise<string> {
  hash ??= crypto.subtle.digest("SHA-256", new TextEncoder().encode(STYLE)).then((digest) => {
    let text = "";
    for (const byte of new Uint8Array(digest)) text += String.fromCharCode(byte);
    return `'sha256-${btoa(text)}'`;
  });
  return hash;
}
