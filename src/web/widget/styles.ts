/** The button's style sheet; every colour, radius and font comes from a CSS custom property. */
export const CSS = `
:host{display:block;max-width:24rem;font:var(--crossline-font,15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);color:var(--crossline-fg,#1b1f24)}
.card{background:var(--crossline-bg,#fff);border:1px solid var(--crossline-border,#8c959f);border-radius:var(--crossline-radius,10px);padding:1rem 1.1rem}
h2{font-size:1.15em;margin:0 0 .25rem}
p{margin:.25rem 0 .6rem}
label,legend{display:block;font-weight:600;margin:.55rem 0 .2rem}
input[type=tel],input[type=text],select{box-sizing:border-box;width:100%;padding:.5rem .55rem;font:inherit;color:inherit;background:var(--crossline-input-bg,#fff);border:1px solid var(--crossline-border,#6e7781);border-radius:calc(var(--crossline-radius,10px)/2)}
fieldset{border:0;padding:0;margin:.4rem 0}
.choice{display:flex;align-items:center;gap:.4rem;font-weight:400;margin:.25rem 0}
.choice input{width:1.1rem;height:1.1rem;margin:0}
.hint{font-size:.9em;color:var(--crossline-muted,#57606a);margin:.2rem 0}
.error{color:var(--crossline-error,#b42318);font-size:.93em;margin:.25rem 0;min-height:0}
.error:empty{display:none}
button{font:inherit;font-weight:600;margin-top:.8rem;padding:.6rem 1rem;border:0;border-radius:calc(var(--crossline-radius,10px)/2);background:var(--crossline-accent,#0b5cad);color:var(--crossline-accent-fg,#fff);cursor:pointer;width:100%}
button[disabled]{opacity:.7;cursor:progress}
:focus-visible{outline:3px solid var(--crossline-focus,#e36209);outline-offset:2px}
.status{font-weight:600;font-size:1.05em;margin:.5rem 0}
.status[data-state=connected],.status[data-state=completed]{color:var(--crossline-ok,#1a7f37)}
.status[data-state=failed]{color:var(--crossline-error,#b42318)}
[hidden]{display:none!important}
`;
