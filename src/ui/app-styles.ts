/**
 * The page's own look: the header, banners, the controls' row, the screen's column beside the
 * meter's, the serial console. One sheet for <hvm-app> and what renders into its tree, so the
 * layout is read in one place.
 */
import { css } from 'lit';

export const appStyles = css`
  :host {
    display: block;
    /* The bottom padding is counted in the screen's fit (screen-fit.ts, PAGE_BOTTOM_PX). */
    padding: 0.5rem 1rem 0.5rem;
    max-width: 1800px;
    margin: 0 auto;
  }
  header {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 0 1rem;
  }
  h1 {
    font-size: 1.15rem;
    margin: 0;
  }
  .lede {
    opacity: 0.75;
    margin: 0;
    font-size: 0.85rem;
  }
  .try {
    margin: 0.3rem 0;
    font-size: 0.85rem;
    padding: 0.2rem 0.6rem;
    border-left: 3px solid #6aa9ff;
    background: #141c28;
  }
  .try button {
    font-size: 0.75rem;
    margin-left: 0.5rem;
  }
  .banner {
    background: #5c1a1a;
    border: 1px solid #c44;
    padding: 0.6rem 1rem;
    border-radius: 6px;
    margin: 0.5rem 0;
  }
  .banner.notice {
    background: #3a3317;
    border-color: #b59a2a;
  }
  .banner pre {
    font-size: 0.8rem;
    overflow-x: auto;
    max-height: 14rem;
  }
  .banner.info {
    background: #1d3550;
    border-color: #4a7ab0;
  }
  /* The screen's column is as wide as the scaled screen; the meter takes the rest. */
  .layout {
    display: grid;
    grid-template-columns: max-content minmax(20rem, 1fr);
    gap: 1rem;
    align-items: start;
  }
  .layout.ab {
    grid-template-columns: minmax(0, 1fr);
  }
  main {
    min-width: 0;
  }
  /* The console follows the screen's width; its long lines must not widen the screen's column. */
  .below {
    contain: inline-size;
  }
  @media (max-width: 900px) {
    .layout {
      grid-template-columns: minmax(0, 1fr);
    }
  }
  hvm-controls,
  serial-console {
    display: block;
  }
  .controls {
    display: flex;
    flex-wrap: wrap;
    gap: 0.3rem 0.8rem;
    align-items: center;
    margin: 0.3rem 0 0.5rem;
  }
  fieldset {
    border: 1px solid #444;
    border-radius: 6px;
    padding: 0 0.4rem 0.1rem;
    margin: 0;
    display: flex;
    gap: 0.4rem;
  }
  legend {
    font-size: 0.75rem;
    opacity: 0.8;
  }
  label {
    font-size: 0.85rem;
    white-space: nowrap;
  }
  select,
  button,
  input {
    font: inherit;
    font-size: 0.85rem;
  }
  input[type='file'] {
    display: none;
  }
  .screen {
    border: 2px dashed transparent;
    border-radius: 4px;
  }
  .screen.drop {
    border-color: #6aa9ff;
  }
  .status,
  .hint {
    opacity: 0.75;
    font-size: 0.8rem;
    margin: 0.2rem 0;
  }
  .console h2 {
    margin: 0.2rem 0;
  }
  .console pre {
    background: #0b0d10;
    border: 1px solid #333;
    padding: 0.4rem;
    height: 6.5rem;
    overflow: auto;
    font-size: 0.8rem;
    margin: 0.2rem 0;
    white-space: pre-wrap;
  }
  .console form {
    display: flex;
    gap: 0.5rem;
  }
  .console input {
    flex: 1;
    min-width: 0;
  }
  aside {
    background: #171b21;
    border: 1px solid #2a2f37;
    border-radius: 8px;
    padding: 0.75rem;
    min-width: 0;
  }
  h2 {
    font-size: 1rem;
    margin: 0 0 0.4rem;
  }
`;
