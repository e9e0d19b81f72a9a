/* frontier-demo-font.h: a built-in 5x7 bitmap font for the SDL2 demo (SDL2 draws no text and
 * SDL2_ttf is not a dependency). Printable ASCII only; other bytes draw as '?'.
 *
 * The glyphs are rasterised once into a white texture atlas; text is drawn by copying glyph
 * rectangles scaled by an integer factor, tinted with the texture's colour modulation. */
#pragma once
#include <SDL.h>

#define DEMO_GLYPH_W 5
#define DEMO_GLYPH_H 7
/* Horizontal advance and line height, in font pixels (one column and one row of spacing). */
#define DEMO_ADVANCE 6
#define DEMO_LINE 9

typedef struct DemoFont DemoFont;

DemoFont *demo_font_new(SDL_Renderer *r);
void demo_font_free(DemoFont *f);
/* Width in screen pixels of text drawn at scale (the last glyph's spacing column not counted). */
int demo_font_width(const char *text, int scale);
/* Draws text with its top-left corner at (x, y); returns the x after the text. '\n' is not special. */
int demo_font_draw(DemoFont *f, int x, int y, int scale, SDL_Color color, const char *text);
