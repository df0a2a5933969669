/**
 * `npm run bench:upload`: which way of pushing repainted tiles to the screen costs the main thread
 * least, measured in Chromium. A 1024×768 picture in 64×16 tiles; per frame N tiles change (1, a
 * sprite's worth, a scroll's worth, all). Ways:
 *  - rects:  one persistent ImageData; putImageData with the dirty-rectangle arguments per run of
 *            tiles (what src/ui/hvm-display.ts does);
 *  - whole:  putImageData of the whole persistent ImageData once per frame;
 *  - webgl:  a texture the size of the picture, texSubImage2D per run of tiles, one draw.
 * Each way runs 120 frames driven by requestAnimationFrame; the cost is the main thread's busy
 * time from the DevTools protocol over that window (it includes the browser's own paint and
 * upload work that a timer around the call would miss), minus the same page doing nothing.
 * Writes bench-results/upload.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { chromium, type Page } from '@playwright/test';
import { chromiumPath, CHROMIUM_ARGS } from '../scripts/chromium-path.mjs';
import { measureThreadTimesWhile } from './cdp-threads';

const W = 1024;
const H = 768;
const TW = 64;
const TH = 16;
const TILES = (W / TW) * (H / TH);
const FRAMES = 120;

const PAGE = `<!doctype html><body style="margin:0;background:#000"><canvas id="c" width="${W}" height="${H}"></canvas><script>
const W=${W},H=${H},TW=${TW},TH=${TH},TX=W/TW,TY=H/TH;
let canvas=document.getElementById('c');
function fresh(){const c=document.createElement('canvas');c.width=W;c.height=H;canvas.replaceWith(c);canvas=c;return c;}
function tilesFor(n,frame){const all=[];const start=(frame*37)%(TX*TY);for(let i=0;i<n;i++)all.push((start+i)%(TX*TY));return all.sort((a,b)=>a-b);}
function fill(u32,tiles,frame){for(const t of tiles){const x0=(t%TX)*TW,y0=((t/TX)|0)*TH;for(let y=y0;y<y0+TH;y++)for(let x=x0;x<x0+TW;x++)u32[y*W+x]=0xff000000|((x*frame)&0xffffff);}}
function runs(tiles){const out=[];for(const t of tiles){const tx=t%TX,ty=(t/TX)|0;const last=out[out.length-1];if(last&&last.ty===ty&&last.tx1===tx){last.tx1++;}else out.push({ty,tx0:tx,tx1:tx+1});}return out;}
window.ways={
 rects(){const ctx=fresh().getContext('2d');const img=new ImageData(W,H);const u32=new Uint32Array(img.data.buffer);
  return (tiles,frame)=>{fill(u32,tiles,frame);for(const r of runs(tiles))ctx.putImageData(img,0,0,r.tx0*TW,r.ty*TH,(r.tx1-r.tx0)*TW,TH);};},
 whole(){const ctx=fresh().getContext('2d');const img=new ImageData(W,H);const u32=new Uint32Array(img.data.buffer);
  return (tiles,frame)=>{fill(u32,tiles,frame);ctx.putImageData(img,0,0);};},
 webgl(){const gl=fresh().getContext('webgl');if(!gl)return null;const buf=new Uint8Array(W*H*4);const u32=new Uint32Array(buf.buffer);
  const vs='attribute vec2 p;varying vec2 t;void main(){t=vec2(p.x*.5+.5,.5-p.y*.5);gl_Position=vec4(p,0,1);}';
  const fs='precision mediump float;varying vec2 t;uniform sampler2D s;void main(){gl_FragColor=texture2D(s,t);}';
  const sh=(k,src)=>{const s=gl.createShader(k);gl.shaderSource(s,src);gl.compileShader(s);return s;};
  const pr=gl.createProgram();gl.attachShader(pr,sh(gl.VERTEX_SHADER,vs));gl.attachShader(pr,sh(gl.FRAGMENT_SHADER,fs));gl.linkProgram(pr);gl.useProgram(pr);
  const b=gl.createBuffer();gl.bindBuffer(gl.ARRAY_BUFFER,b);gl.bufferData(gl.ARRAY_BUFFER,new Float32Array([-1,-1,1,-1,-1,1,1,1]),gl.STATIC_DRAW);
  const loc=gl.getAttribLocation(pr,'p');gl.enableVertexAttribArray(loc);gl.vertexAttribPointer(loc,2,gl.FLOAT,false,0,0);
  const tex=gl.createTexture();gl.bindTexture(gl.TEXTURE_2D,tex);gl.texParameteri(gl.TEXTURE_2D,gl.TEXTURE_MIN_FILTER,gl.NEAREST);gl.texParameteri(gl.TEXTURE_2D,gl.TEXTURE_MAG_FILTER,gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D,gl.TEXTURE_WRAP_S,gl.CLAMP_TO_EDGE);gl.texParameteri(gl.TEXTURE_2D,gl.TEXTURE_WRAP_T,gl.CLAMP_TO_EDGE);
  gl.texImage2D(gl.TEXTURE_2D,0,gl.RGBA,W,H,0,gl.RGBA,gl.UNSIGNED_BYTE,buf);gl.pixelStorei(gl.UNPACK_ROW_LENGTH||0x0CF2,W);
  return (tiles,frame)=>{fill(u32,tiles,frame);for(const r of runs(tiles)){const x=r.tx0*TW,y=r.ty*TH,w=(r.tx1-r.tx0)*TW;
   const sub=new Uint8Array(w*TH*4);for(let row=0;row<TH;row++)sub.set(buf.subarray(((y+row)*W+x)*4,((y+row)*W+x+w)*4),row*w*4);
   gl.texSubImage2D(gl.TEXTURE_2D,0,x,y,w,TH,gl.RGBA,gl.UNSIGNED_BYTE,sub);}gl.drawArrays(gl.TRIANGLE_STRIP,0,4);};},
 none(){fresh();return ()=>{};},
};
window.run=(way,n,frames)=>new Promise((done)=>{const f=ways[way]();if(!f){done(false);return;}let k=0;const tick=()=>{if(k++>=frames){done(true);return;}f(tilesFor(n,k),k);requestAnimationFrame(tick);};requestAnimationFrame(tick);});
</script></body>`;

interface UploadRecord {
  way: string;
  tilesPerFrame: number;
  /** Main-thread busy ms per frame, above the idle page's. */
  msPerFrame: number;
}

async function busyPerFrame(page: Page, way: string, n: number): Promise<number | null> {
  await page.evaluate(([w, n]) => (window as any).run(w, n, 10), [way, n] as const); // warm-up
  let ok = true;
  const t = await measureThreadTimesWhile(page, async () => {
    ok = await page.evaluate(([w, n, f]) => (window as any).run(w, n, f), [way, n, FRAMES] as const);
  });
  return ok ? t.mainBusyMs / FRAMES : null;
}

async function main(): Promise<void> {
  const exe = chromiumPath();
  if (exe === null) throw new Error('no Chromium: run `node scripts/ensure-chromium.mjs` first');
  const browser = await chromium.launch({ executablePath: exe || undefined, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.setContent(PAGE);
  const records: UploadRecord[] = [];
  const base = (await busyPerFrame(page, 'none', 0)) ?? 0;
  for (const n of [1, 40, 200, TILES])
    for (const way of ['rects', 'whole', 'webgl']) {
      const ms = await busyPerFrame(page, way, n);
      if (ms === null) {
        console.log(`  ${way}: not available in this browser`);
        continue;
      }
      records.push({ way, tilesPerFrame: n, msPerFrame: ms - base });
    }
  await browser.close();
  console.log(
    `\nbench:upload — main-thread ms per frame above an idle page (${base.toFixed(3)} ms), 1024×768, 64×16 tiles\n`,
  );
  console.log(
    ['tiles/frame', 'rects', 'whole', 'webgl', 'whole/rects', 'webgl/rects'].map((s) => s.padStart(12)).join(''),
  );
  for (const n of [1, 40, 200, TILES]) {
    const get = (w: string) => records.find((r) => r.way === w && r.tilesPerFrame === n)?.msPerFrame;
    const [r, w, g] = [get('rects'), get('whole'), get('webgl')];
    const f = (v?: number) => (v === undefined ? '–' : v.toFixed(3));
    const ratio = (a?: number, b?: number) =>
      a === undefined || b === undefined || b <= 0 ? '–' : `${(a / b).toFixed(1)}×`;
    console.log([String(n), f(r), f(w), f(g), ratio(w, r), ratio(g, r)].map((s) => s.padStart(12)).join(''));
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/upload.json', `${JSON.stringify(records, null, 1)}\n`);
  console.log('\nwrote bench-results/upload.json');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
