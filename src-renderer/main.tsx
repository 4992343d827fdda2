import './zodSetup.ts';
import './styles.css';
import './responsive.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { applyTheme } from './store/theme.ts';
import { mountAnnouncer } from './lib/focus.ts';

applyTheme();
mountAnnouncer();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
